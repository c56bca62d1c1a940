"""The one-time link's page: server-rendered HTML, no JavaScript, readable on a phone.

Every page is one small document with its style inline (the worker serves no other files). Colours keep a
contrast of at least 4.5:1 (WCAG AA for body text): #1b1b1b on #ffffff is 17:1, the verdict colours on their
tints 7:1 or more, the link blue #0b57d0 on white 6.4:1. Every control has a visible label and a focus ring.
Everything shown is escaped: the page repeats what the visitor typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from probes.explain import verdict_lines
from probes.links import Link, LinkResult
from probes.models import PortResult, State

__all__ = ["gone_page", "invalid_page", "landing_page", "problem_page", "result_page"]

_STYLE = """
*{box-sizing:border-box}
html{font-size:100%;-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:#1b1b1b;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
p,li{overflow-wrap:anywhere}
.verdict{border-left:.4rem solid;border-radius:.25rem;padding:.75rem 1rem;margin:1rem 0}
.good{background:#e7f5ec;border-color:#1e7b43;color:#0b3d20}
.bad{background:#fdeceb;border-color:#b3261e;color:#5c0f0b}
.unsure{background:#fff4e0;border-color:#8a5300;color:#4a2c00}
.verdict h2{margin-top:0}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
.help{margin:.25rem 0 .5rem;color:#3d3d3d}
input[type=text]{width:100%;max-width:24rem;font:inherit;padding:.6rem;border:2px solid #5e5e5e;border-radius:.25rem;
  color:#1b1b1b;background:#fff}
button{font:inherit;font-weight:600;margin-top:.75rem;padding:.6rem 1.2rem;border:0;border-radius:.25rem;
  background:#0b57d0;color:#fff;cursor:pointer;min-height:2.75rem}
a{color:#0b57d0}
a:focus-visible,button:focus-visible,input:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
input:focus{border-color:#0b57d0}
small,.muted{color:#4a4a4a}
.error{color:#b3261e;font-weight:600}
"""

# Shown under every verdict, in the visitor's own words: what they just did, and that it is done.
_ONCE = "This link has now been used; ask the bot for a new one to check again."
_FAMILY = {"v4": "IPv4", "v6": "IPv6"}
_HEADLINE = {
    State.OPEN: "Reachable",
    State.CLOSED: "Closed: nothing is listening",
    State.FILTERED: "No answer (filtered)",
    State.UNREACHABLE: "Unreachable",
    State.OPEN_FILTERED: "No reply over UDP (open or filtered)",
}


def _t(text: str) -> str:
    """Text for an element's content (quotes stay quotes; attributes use escape())."""
    return escape(text, quote=False)


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{_t(title)} · Portbot</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _paragraphs(lines: Iterable[str]) -> str:
    out = []
    for line in lines:
        steps = [s for s in line.split("\n") if s]
        if len(steps) > 1 and all(s[:1].isdigit() and s[1:3] == ". " for s in steps):
            out.append("<ol>" + "".join(f"<li>{_t(s[3:])}</li>" for s in steps) + "</ol>")
        else:
            out.extend(f"<p>{_t(s)}</p>" for s in steps)
    return "\n".join(out)


def _tone(state: State) -> str:
    return {State.OPEN: "good", State.OPEN_FILTERED: "unsure"}.get(state, "bad")


def _port_block(result: PortResult, reached: bool | None) -> str:
    heading = f"{result.protocol.upper()} {result.port}: {_HEADLINE.get(result.state, str(result.state))}"
    lines = verdict_lines(result, local=False)
    if reached is True:
        lines.append(
            "The connection reached the `portbot listen` running on your machine: the forward works."
        )
    elif reached is False and result.state is State.OPEN:
        lines.append(
            "Something answered, but not `portbot listen` on your machine: the forward points at another "
            "device (the router itself, or another computer). Point it at this machine's LAN address."
        )
    return (
        f'<section class="verdict {_tone(result.state)}" aria-labelledby="port-{result.port}-{result.protocol}">\n'
        f'<h2 id="port-{result.port}-{result.protocol}">{_t(heading)}</h2>\n{_paragraphs(lines)}\n</section>'
    )


def _diagnosis(result: LinkResult) -> str:
    parts: list[str] = []
    if result.wan_address:
        parts.append(
            f"<p>Your router's WAN address, as you typed it: <strong>{_t(result.wan_address)}</strong></p>"
        )
    diagnosis = result.diagnosis
    if diagnosis:
        title = diagnosis.get("title") or diagnosis.get("verdict")
        if title:
            parts.append(f"<h3>{_t(str(title))}</h3>")
        for key in ("explanation", "summary", "message"):
            if diagnosis.get(key):
                parts.append(_paragraphs([str(diagnosis[key])]))
        steps = diagnosis.get("steps") or diagnosis.get("next_steps")
        if isinstance(steps, list) and steps:
            parts.append("<ol>" + "".join(f"<li>{_t(str(s))}</li>" for s in steps) + "</ol>")
    elif result.wan_address:
        parts.append(
            "<p>This worker can't compare the two addresses yet; the bot will show what it found.</p>"
        )
    return "\n".join(parts)


def _wan_form(token: str, result: LinkResult, error: str | None) -> str:
    alert = f'<p role="alert" id="wan-error" class="error">{_t(error)}</p>\n' if error else ""
    described = "wan-help wan-error" if error else "wan-help"
    return f"""<h2 id="compare">Still not reachable? Compare with your router</h2>
<p>Your router's status page shows its <em>WAN</em> or <em>internet</em> address. If it differs from the address
above, your internet provider may share one address between many homes (CGNAT), or there may be a second router
in front of yours (double NAT). Then no forward on your router can work, and the answer below says what to do.</p>
<form method="post" action="/l/{escape(token)}" aria-labelledby="compare">
<label for="wan">Your router's WAN address</label>
<p class="help" id="wan-help">For example 100.72.14.3 or 203.0.113.5. Only this page sees it, never the chat.</p>
{alert}<input type="text" id="wan" name="wan" inputmode="decimal" autocomplete="off" spellcheck="false"
 aria-describedby="{described}" maxlength="64" value="{escape(result.wan_address or "")}">
<button type="submit">Compare</button>
</form>"""


def result_page(link: Link, result: LinkResult, *, form: bool = True, form_error: str | None = None) -> str:
    """The verdict for the visitor's own address, the same words as in chat, and the WAN address form."""
    report = result.report
    family = _FAMILY[result.address_kind]
    body = ["<h1>Your server check</h1>"]
    if result.error or report is None:
        body.append(f"<p>{_t(result.error or 'The check did not run.')}</p>")
        return _document("Your server check", "\n".join(body))
    body.append(
        f"<p>This page was opened from <strong>{_t(report.host)}</strong> ({family}). I checked that "
        f"address from {_t(report.vantage)}, outside your network.</p>"
    )
    reached = result.reached_listener or {}
    body.extend(_port_block(r, reached.get(r.port)) for r in report.results)
    if report.error:
        body.append(f"<p>{_t(report.error)}</p>")
    diagnosis = _diagnosis(result)
    if diagnosis:
        body.append('<h2 id="diagnosis">What the comparison shows</h2>\n' + diagnosis)
    bad = any(r.state is not State.OPEN for r in report.results)
    if form and bad and result.address_kind == "v4":
        body.append(_wan_form(link.token, result, form_error))
    body.append(f'<p class="muted"><small>{_t(_ONCE)}</small></p>')
    return _document("Your server check", "\n".join(body))


def gone_page(expired: bool) -> str:
    """410: the link was used already, or its time ran out."""
    if expired:
        title = "This link has expired"
        text = (
            "Links work for a few minutes only, so an old one in a chat log can't be used to check your "
            "network. Ask the bot for a new one (for example <code>/port check</code>) and open it straight away."
        )
    else:
        title = "This link was already used"
        text = (
            "Each link works once, so nobody else can use it to check your network. If that was you, the "
            "result is in your chat. To check again, ask the bot for a new link (for example "
            "<code>/port check</code>)."
        )
    return _document(title, f"<h1>{title}</h1>\n<p>{text}</p>")


def invalid_page() -> str:
    """404: not a link this worker made (mistyped, cut off, or from before a restart)."""
    title = "This link isn't valid"
    return _document(
        title,
        f"<h1>{title}</h1>\n<p>It may have been cut off when it was copied. Open the link exactly as the bot "
        "sent it, or ask the bot for a new one.</p>",
    )


def problem_page(title: str, message: str, hint: str | None = None) -> str:
    """A check that could not run (refused address, rate limit, worker busy); the link stays usable."""
    extra = f"<p>{_t(hint)}</p>" if hint else ""
    return _document(
        title,
        f"<h1>{_t(title)}</h1>\n<p>{_t(message)}</p>\n{extra}\n"
        "<p>Nothing was checked, so this link still works: try it again in a moment.</p>",
    )


def landing_page(link_ports: Iterable[int], protocol: str) -> str:
    """What link previews and HEAD requests see: nothing is checked, and the link stays unused."""
    ports = ", ".join(str(p) for p in link_ports)
    shown = "TCP/UDP" if protocol == "auto" else protocol.upper()
    return _document(
        "Check your server",
        f"<h1>Check your server</h1>\n<p>Open this link in a browser on the same network as your server to "
        f"check whether {_t(shown)} port {_t(ports)} can be reached from the internet.</p>",
    )


def diagnosis_dict(value: Any) -> dict[str, Any] | None:
    """A diagnosis as a JSON-friendly dict, whatever shape the listen lane returns it in."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return {"summary": str(value)}
