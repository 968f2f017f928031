//! DNS for the From domain: SPF, DMARC, DKIM and alignment, with a configurable resolver.
