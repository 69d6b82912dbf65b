"""Input channels of the Rasa server: WeChat Official Account (``wechat``, not shipped with Rasa) and Rasa's
socket.io channel with fixes for the web chat (``webchat``, still named ``socketio``).

``wechat_api`` is the part that talks to WeChat's servers (customer-service messages, reply splitting); it has no
Rasa imports so the web app can use it to deliver officer replies.
"""
