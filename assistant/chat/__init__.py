"""The Gradio chat: the app and its handlers (``app``) and the HTML it renders (``view``)."""
