//! A SPAMC client: asks SpamAssassin's `spamd` for a message's score and the rules that fired.
