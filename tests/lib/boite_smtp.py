"""The handler of the test SMTP server (scripts/dev.d/test-servers.sh): aiosmtpd's Mailbox (a
Maildir that the tests read), which refuses for good (550 at RCPT) every recipient whose
address starts with REFUSED_PREFIX: a real refusal by a real mail server, for the tests of
what the product does with one (a participant's invitation « refusée », with its error)."""

from aiosmtpd.handlers import Mailbox

REFUSED_PREFIX = "refus-smtp"


class BoiteAvecRefus(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith(REFUSED_PREFIX):
            return "550 5.1.1 <%s>: boite inconnue (serveur de test)" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"
