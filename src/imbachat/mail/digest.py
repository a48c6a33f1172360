"""The digest e-mail: what waited unread for someone who was away, as plain text
and HTML, in the widget's language, with a way back to the chat and a signed link
that stops these e-mails without logging in."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from email.message import EmailMessage
from html import escape

from imbachat import render
from imbachat.domain import Message, User

LANGUAGES = ("en", "es", "ru", "fr", "it", "ar")
_STRINGS = {
    "en": (
        "Unread messages: {count}",
        "While you were away:",
        "Open the chat",
        "Stop these e-mails",
        "You get this e-mail because messages waited for you in the chat.",
        "Photo",
        "File",
    ),
    "es": (
        "Mensajes sin leer: {count}",
        "Mientras no estabas:",
        "Abrir el chat",
        "No recibir más estos correos",
        "Recibes este correo porque te esperaban mensajes en el chat.",
        "Foto",
        "Archivo",
    ),
    "ru": (
        "Непрочитанных сообщений: {count}",
        "Пока вас не было:",
        "Открыть чат",
        "Не присылать такие письма",
        "Вы получили это письмо, потому что в чате вас ждали сообщения.",
        "Фото",
        "Файл",
    ),
    "fr": (
        "Messages non lus : {count}",
        "Pendant votre absence :",
        "Ouvrir le chat",
        "Ne plus recevoir ces e-mails",
        "Vous recevez cet e-mail car des messages vous attendaient dans le chat.",
        "Photo",
        "Fichier",
    ),
    "it": (
        "Messaggi non letti: {count}",
        "Mentre eri via:",
        "Apri la chat",
        "Non ricevere più queste e-mail",
        "Ricevi questa e-mail perché nella chat ti aspettavano dei messaggi.",
        "Foto",
        "File",
    ),
    "ar": (
        "رسائل غير مقروءة: {count}",
        "أثناء غيابك:",
        "افتح المحادثة",
        "إيقاف هذه الرسائل",
        "تصلك هذه الرسالة لأن رسائل كانت بانتظارك في المحادثة.",
        "صورة",
        "ملف",
    ),
}


def unsubscribe_signature(secret: str, imba_id: int, remote_user_id: int) -> str:
    signed = f"unsubscribe:{imba_id}:{remote_user_id}".encode()
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Digest:
    to: str
    user: User
    unread_count: int
    messages: tuple[Message, ...]
    language: str
    chat_url: str | None  # where "Open the chat" leads; None: no button
    unsubscribe_url: str


def _line(message: Message, photo: str, file: str) -> str:
    text = message.body.strip()
    if not text and message.attachments:
        first = message.attachments[0]
        text = f"[{photo}]" if first.width else f"[{file}: {first.name}]"
    return f"{message.author_name or f'User {message.author_remote_id}'}: {text}"


def compose(digest: Digest) -> EmailMessage:
    subject, intro, open_chat, stop, why, photo, file = _STRINGS.get(
        digest.language, _STRINGS["en"]
    )
    lines = [_line(m, photo, file) for m in digest.messages]
    name = render.display_name(digest.user)
    text = "\n".join(
        [f"{name},", "", intro, "", *lines, ""]
        + ([f"{open_chat}: {digest.chat_url}", ""] if digest.chat_url else [])
        + [why, f"{stop}: {digest.unsubscribe_url}"]
    )
    direction = "rtl" if digest.language == "ar" else "ltr"
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    button = (
        f'<p><a href="{escape(digest.chat_url)}" style="background:#2563eb;color:#fff;'
        f'padding:10px 16px;border-radius:6px;text-decoration:none">{escape(open_chat)}</a></p>'
        if digest.chat_url
        else ""
    )
    html = (
        f'<!doctype html><html lang="{digest.language}" dir="{direction}"><body '
        'style="font-family:system-ui,sans-serif;color:#111;line-height:1.5">'
        f"<p>{escape(name)},</p><p>{escape(intro)}</p><ul>{items}</ul>{button}"
        f'<p style="color:#555;font-size:13px">{escape(why)} '
        f'<a href="{escape(digest.unsubscribe_url)}">{escape(stop)}</a></p></body></html>'
    )
    message = EmailMessage()
    message["To"] = digest.to
    message["Subject"] = subject.format(count=digest.unread_count)
    message["List-Unsubscribe"] = f"<{digest.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


# The page an unsubscribe link opens: the question, its button, and the answer.
_PAGE = {
    "en": ("Stop e-mails about unread messages?", "Stop e-mails", "Done: no more e-mails."),
    "es": ("¿Dejar de recibir correos de mensajes sin leer?", "Dejar de recibirlos",
           "Hecho: no recibirás más correos."),
    "ru": ("Больше не присылать письма о непрочитанных сообщениях?", "Не присылать",
           "Готово: писем больше не будет."),
    "fr": ("Ne plus recevoir d'e-mails pour les messages non lus ?", "Ne plus recevoir",
           "C'est fait : plus d'e-mails."),
    "it": ("Non ricevere più e-mail sui messaggi non letti?", "Non ricevere più",
           "Fatto: niente più e-mail."),
    "ar": ("إيقاف رسائل البريد عن الرسائل غير المقروءة؟", "إيقاف الرسائل",
           "تم: لن تصلك رسائل بعد الآن."),
}  # fmt: skip


def unsubscribe_page(language: str, done: bool) -> str:
    """A small page in the widget's language: a button that stops the e-mails (a
    POST, so a mail scanner that opens links stops nothing), or that it is done."""
    question, button, finished = _PAGE.get(language, _PAGE["en"])
    direction = "rtl" if language == "ar" else "ltr"
    body = (
        f"<p>{escape(finished)}</p>"
        if done
        else f'<p>{escape(question)}</p><form method="post"><button type="submit">'
        f"{escape(button)}</button></form>"
    )
    return (
        f'<!doctype html><html lang="{language}" dir="{direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(question)}</title></head>"
        f'<body style="font-family:system-ui,sans-serif;margin:2rem">{body}</body></html>'
    )
