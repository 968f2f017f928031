//! RFC 2047 encoded-words (`=?UTF-8?B?SsO8cmdlbg==?=`), the way non-ASCII display names travel in
//! ASCII-only headers.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

/// RFC 2047 caps an encoded-word at 75 characters; `=?UTF-8?B?` and `?=` take 12 of them, and
/// 45 bytes are the most that fit in the remaining 63 base64 characters.
const MAX_CHUNK_BYTES: usize = 45;

/// Mail software in the wild drops or adds padding, so decoding accepts both.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes one encoded-word, or returns `None` when `word` is not one we can decode; RFC 2047
/// says such words are then shown as they are.
pub(crate) fn decode(word: &str) -> Option<String> {
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.split('?');
    let (charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // RFC 2231 adds an optional language after '*', as in `UTF-8*en`.
    let charset = charset
        .split('*')
        .next()
        .unwrap_or(charset)
        .to_ascii_lowercase();
    let bytes = match encoding {
        "B" | "b" => LENIENT.decode(text).ok()?,
        "Q" | "q" => decode_q(text)?,
        _ => return None,
    };
    match charset.as_str() {
        "utf-8" | "utf8" => String::from_utf8(bytes).ok(),
        "us-ascii" => bytes
            .is_ascii()
            .then(|| bytes.iter().map(|&b| char::from(b)).collect()),
        // Latin-1 bytes are exactly the first 256 Unicode code points.
        "iso-8859-1" | "latin1" => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        _ => None,
    }
}

fn decode_q(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(b) = input.next() {
        match b {
            b'_' => bytes.push(b' '),
            b'=' => {
                let high = char::from(input.next()?).to_digit(16)?;
                let low = char::from(input.next()?).to_digit(16)?;
                bytes.push(u8::try_from(high * 16 + low).ok()?);
            }
            b'!'..=b'~' => bytes.push(b),
            _ => return None,
        }
    }
    Some(bytes)
}

/// Encodes text as UTF-8 `B` encoded-words separated by spaces, splitting between characters so
/// that no word exceeds RFC 2047's length limit.
pub(crate) fn encode(text: &str) -> String {
    let mut words = Vec::new();
    let mut chunk_start = 0;
    let mut chunk_end = 0;
    for (i, c) in text.char_indices() {
        if i + c.len_utf8() - chunk_start > MAX_CHUNK_BYTES {
            words.push(&text[chunk_start..chunk_end]);
            chunk_start = chunk_end;
        }
        chunk_end = i + c.len_utf8();
    }
    words.push(&text[chunk_start..]);
    words
        .iter()
        .map(|chunk| format!("=?UTF-8?B?{}?=", general_purpose::STANDARD.encode(chunk)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_common_forms() {
        let cases: &[(&str, Option<&str>)] = &[
            ("=?UTF-8?B?SsO8cmdlbg==?=", Some("Jürgen")),
            ("=?utf-8?b?SsO8cmdlbg?=", Some("Jürgen")),
            ("=?UTF-8*de?B?SsO8cmdlbg==?=", Some("Jürgen")),
            ("=?ISO-8859-1?Q?J=FCrgen_M=FCller?=", Some("Jürgen Müller")),
            ("=?us-ascii?q?plain?=", Some("plain")),
            ("=?us-ascii?q?=FC?=", None),
            ("=?utf-8?q?bad=ZZ?=", None),
            ("=?utf-8?q?cut=C?=", None),
            ("=?utf-8?x?abc?=", None),
            ("=?koi8-r?q?abc?=", None),
            ("=?utf-8?q?a?b?=", None),
            ("=?utf-8?b?/w==?=", None),
            ("plain", None),
        ];
        for (input, expected) in cases {
            assert_eq!(decode(input).as_deref(), *expected, "input: {input:?}");
        }
    }

    #[test]
    fn encoded_words_stay_short_and_decode_back() {
        for text in ["Jürgen", &"ü".repeat(60), &"漢字".repeat(30), "a"] {
            let encoded = encode(text);
            let words: Vec<&str> = encoded.split(' ').collect();
            assert!(words.iter().all(|w| w.len() <= 75), "{encoded}");
            let decoded: Option<String> = words.iter().map(|w| decode(w)).collect();
            assert_eq!(decoded.as_deref(), Some(text));
        }
    }
}
