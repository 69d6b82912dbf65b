"""Input channels of the Rasa server that Rasa does not ship: WeChat Official Account (``wechat``).

``wechat_api`` is the part that talks to WeChat's servers (customer-service messages, reply splitting); it has no
Rasa imports so the web app can use it to deliver officer replies.
"""
