"""Input channels of the Rasa server: WeChat Official Account (``wechat``, not shipped with Rasa), Rasa's
socket.io channel with fixes for the web chat (``webchat``, still named ``socketio``) and Rasa's REST channel
(``rest``); all three add the officer replies waiting for a user who went back to the bot (``handoff``).

``wechat_api`` is the part that talks to WeChat's servers (customer-service messages, reply splitting); it has no
Rasa imports so the web app can use it to deliver officer replies.
"""
