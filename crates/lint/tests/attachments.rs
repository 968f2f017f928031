//! The attachment checks end to end: raw messages with base64 attachments, built here, through
//! `check_message`, so each case asserts what a user would see: a code and where it is.

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Crc, FlushCompress};
use lint::{CheckKind, Context, check_message};

/// A message with a text part and each attachment base64-encoded.
fn mail(attachments: &[(&str, &[u8])]) -> Vec<u8> {
    let mut raw = b"From: a@example.com\r\nTo: b@example.com\r\nDate: Mon, 1 Dec 2025 10:00:00 +0000\r\n\
        Message-ID: <1@example.com>\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
        see attached\r\n"
        .to_vec();
    for (name, data) in attachments {
        // As a mail program labels them: by the name, so a renamed program in a `.txt` comes
        // as text, which a parser decodes as UTF-8 unless the check reads the raw bytes.
        let kind = if name.ends_with(".txt") {
            "text/plain; charset=utf-8"
        } else {
            "application/octet-stream"
        };
        raw.extend_from_slice(
            format!(
                "--b\r\nContent-Type: {kind}; name=\"{name}\"\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n"
            )
            .as_bytes(),
        );
        for line in base64(data).as_bytes().chunks(76) {
            raw.extend_from_slice(line);
            raw.extend_from_slice(b"\r\n");
        }
    }
    raw.extend_from_slice(b"--b--\r\n");
    raw
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A minimal Windows program: a DOS header pointing at a PE header.
fn pe() -> Vec<u8> {
    let mut data = vec![0u8; 512];
    data[..2].copy_from_slice(b"MZ");
    data[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    data[0x80..0x84].copy_from_slice(b"PE\0\0");
    data[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
    data
}

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        writer
            .start_file(*name, options)
            .expect("start a zip entry");
        writer.write_all(data).expect("write a zip entry");
    }
    writer.finish().expect("finish the zip").into_inner()
}

/// One stored stream of a hand-made zip, which the zip crate would not write: a flag it sets
/// only when encrypting, or a size that is not the data's.
struct Stream<'a> {
    method: u16,
    flags: u16,
    crc: u32,
    packed: &'a [u8],
    declared: u32,
}

/// A zip whose central directory lists `entries` (name, index of the stream), so several
/// entries can point at one stream, as in overlapping-entry bombs.
fn raw_zip(streams: &[Stream<'_>], entries: &[(String, usize)]) -> Vec<u8> {
    fn header(out: &mut Vec<u8>, s: &Stream<'_>) {
        for v in [20u16, s.flags, s.method, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [s.crc, s.packed.len() as u32, s.declared] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for (i, stream) in streams.iter().enumerate() {
        offsets.push(out.len() as u32);
        let name = format!("stream{i}");
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        header(&mut out, stream);
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(stream.packed);
    }
    let directory = out.len() as u32;
    for (name, stream) in entries {
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        header(&mut out, &streams[*stream]);
        for v in [name.len() as u16, 0, 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&offsets[*stream].to_le_bytes());
        out.extend_from_slice(name.as_bytes());
    }
    let size = out.len() as u32 - directory;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, entries.len() as u16, entries.len() as u16] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&directory.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn stored<'a>(data: &'a [u8], flags: u16) -> Stream<'a> {
    let mut crc = Crc::new();
    crc.update(data);
    Stream {
        method: 0,
        flags,
        crc: crc.sum(),
        packed: data,
        declared: data.len() as u32,
    }
}

/// `mib` MiB of zeros as raw deflate, about 1 KB per MiB. Each MiB is compressed once and
/// repeated: a full flush resets the compressor, so every block comes out byte for byte alike.
fn deflated_zeros(mib: usize) -> (Vec<u8>, u32) {
    let block = vec![0u8; 1 << 20];
    let mut compress = Compress::new(Compression::best(), false);
    let mut once = Vec::with_capacity(64 * 1024);
    compress
        .compress_vec(&block, &mut once, FlushCompress::Full)
        .expect("deflate a block");
    assert_eq!(
        compress.total_in(),
        block.len() as u64,
        "the block fits in one call"
    );
    let mut out = once.repeat(mib);
    let mut end = Vec::with_capacity(64);
    compress
        .compress_vec(&[], &mut end, FlushCompress::Finish)
        .expect("finish the stream");
    out.extend_from_slice(&end);
    let mut crc = Crc::new();
    for _ in 0..mib {
        crc.update(&block);
    }
    (out, crc.sum())
}

fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, *data)
            .expect("append to the tar");
    }
    gz(&builder.into_inner().expect("finish the tar"))
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("finish the gzip")
}

/// A table row: what the case is, the attachments (name, bytes), the findings (code, location).
type Case<'a> = (&'a str, &'a [(&'a str, &'a [u8])], &'a [(&'a str, &'a str)]);

/// Runs the checks and compares the attachment findings, as (code, location), with `expected`.
/// Returns how long the checks took.
fn check(case: &str, attachments: &[(&str, &[u8])], expected: &[(&str, &str)]) -> Duration {
    let raw = mail(attachments);
    let started = Instant::now();
    let findings = check_message(&raw, &Context::default());
    let took = started.elapsed();
    let found: Vec<(&str, &str)> = findings
        .iter()
        .filter(|f| f.check == CheckKind::Attachments)
        .map(|f| (f.code.as_str(), f.location.as_str()))
        .collect();
    assert_eq!(found, expected, "{case}: {findings:#?}");
    took
}

#[test]
fn blocked_files_by_name_and_content() {
    let pe = pe();
    let js = b"alert('hi');\n".as_slice();
    let jar = zip_of(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        ("A.class", b"\xca\xfe\xba\xbe\0\0\0\x34"),
    ]);
    let docx = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", b"<w:document/>"),
    ]);
    let cases: &[Case<'_>] = &[
        ("a PDF", &[("report.pdf", PDF)], &[]),
        ("a Word file", &[("letter.docx", &docx)], &[]),
        (
            "an .exe by name",
            &[("setup.exe", b"anything")],
            &[("blocked-attachment", "attachment setup.exe")],
        ),
        (
            "an .exe renamed .txt",
            &[("report.txt", &pe)],
            &[("blocked-content", "attachment report.txt")],
        ),
        (
            "a .js in a .zip",
            &[("archive.zip", &zip_of(&[("x.js", js)]))],
            &[("blocked-attachment", "attachment archive.zip > x.js")],
        ),
        (
            "an .exe renamed inside a .zip",
            &[("a.zip", &zip_of(&[("docs/notes.txt", &pe)]))],
            &[("blocked-content", "attachment a.zip > docs/notes.txt")],
        ),
        (
            "a .js in a .tar.gz",
            &[(
                "site.tar.gz",
                &tar_gz(&[("assets/x.js", js), ("index.html", b"<p>hi</p>")]),
            )],
            &[("blocked-attachment", "attachment site.tar.gz > assets/x.js")],
        ),
        (
            "an .exe renamed inside a .gz",
            &[("tool.txt.gz", &gz(&pe))],
            &[("blocked-content", "attachment tool.txt.gz > tool.txt")],
        ),
        (
            "a .gz of a blocked name",
            &[("run.ps1.gz", &gz(b"Write-Host hi"))],
            &[("blocked-attachment", "attachment run.ps1.gz > run.ps1")],
        ),
        (
            "a .jar renamed .zip",
            &[("lib.zip", &jar)],
            &[("blocked-content", "attachment lib.zip")],
        ),
        (
            "a script in a zip",
            &[(
                "tools.zip",
                &zip_of(&[("deploy", b"#!/bin/sh\nrm -rf build\n")]),
            )],
            &[("script-content", "attachment tools.zip > deploy")],
        ),
        (
            "garbage named .zip",
            &[("data.zip", b"these bytes are not a zip archive at all")],
            &[("archive-unreadable", "attachment data.zip")],
        ),
        (
            "garbage named .tar.gz",
            &[("data.tar.gz", b"\x1f\x8b\x08garbage")],
            &[("archive-unreadable", "attachment data.tar.gz")],
        ),
        (
            "a RAR",
            &[("old.rar", b"Rar!\x1a\x07\x01\x00rest")],
            &[("archive-not-examined", "attachment old.rar")],
        ),
    ];
    for (case, attachments, expected) in cases {
        check(case, attachments, expected);
    }
}

#[test]
fn findings_say_what_and_where() {
    let raw = mail(&[("report.txt", &pe())]);
    let findings = check_message(&raw, &Context::default());
    let exe = findings
        .iter()
        .find(|f| f.code == "blocked-content")
        .expect("the renamed .exe");
    assert_eq!(
        exe.found,
        "report.txt is a Windows program (.exe), whatever its name says"
    );
    assert!(
        exe.why.contains("support.google.com/mail/answer/6590"),
        "{}",
        exe.why
    );
    assert!(exe.fix.contains("Google Drive"), "{}", exe.fix);
}

#[test]
fn encrypted_archives() {
    // Flag bit 0 marks an entry encrypted; Gmail cannot look inside, and its data is never read.
    let secret = raw_zip(
        &[stored(b"\x01\x02ciphertext", 1)],
        &[("secret.pdf".into(), 0)],
    );
    let nested = raw_zip(
        &[stored(b"\x01\x02ciphertext", 1)],
        &[("inner.zip".into(), 0)],
    );
    let named = raw_zip(
        &[stored(b"\x01\x02ciphertext", 1)],
        &[("payload.exe".into(), 0)],
    );
    let cases: &[Case<'_>] = &[
        (
            "an encrypted zip",
            &[("secret.zip", &secret)],
            &[("encrypted-archive", "attachment secret.zip")],
        ),
        (
            "an encrypted zip holding a zip",
            &[("s.zip", &nested)],
            &[
                (
                    "encrypted-archive-in-archive",
                    "attachment s.zip > inner.zip",
                ),
                ("encrypted-archive", "attachment s.zip"),
            ],
        ),
        // Names are not encrypted, so a blocked one is still found.
        (
            "an encrypted .exe",
            &[("e.zip", &named)],
            &[("blocked-attachment", "attachment e.zip > payload.exe")],
        ),
    ];
    for (case, attachments, expected) in cases {
        check(case, attachments, expected);
    }
}

#[test]
fn nesting_beyond_the_depth_cap() {
    // l0.zip > l1.zip > ... > l5.zip > x.js: the fifth archive inside is not opened, so the
    // .js is not seen, and the finding says why.
    let mut inner = zip_of(&[("x.js", b"alert(1)")]);
    for level in (1..=5).rev() {
        inner = zip_of(&[(format!("l{level}.zip").as_str(), &inner)]);
    }
    check(
        "zip in zip, six deep",
        &[("l0.zip", &inner)],
        &[(
            "archive-too-deep",
            "attachment l0.zip > l1.zip > l2.zip > l3.zip > l4.zip > l5.zip",
        )],
    );
    let mut shallow = zip_of(&[("x.js", b"alert(1)")]);
    for level in (1..=3).rev() {
        shallow = zip_of(&[(format!("l{level}.zip").as_str(), &shallow)]);
    }
    check(
        "zip in zip, four deep",
        &[("l0.zip", &shallow)],
        &[(
            "blocked-attachment",
            "attachment l0.zip > l1.zip > l2.zip > l3.zip > x.js",
        )],
    );
}

/// A 20 KB attachment that declares 1 GiB: found by its declared sizes, read 8 KB deep.
#[test]
fn declared_gigabyte_bomb() {
    let (packed, crc) = deflated_zeros(20);
    let bomb = raw_zip(
        &[Stream {
            method: 8,
            flags: 0,
            crc,
            packed: &packed,
            declared: 1 << 30,
        }],
        &[("zeros.bin".into(), 0)],
    );
    assert!(bomb.len() < 25 * 1024, "the bomb is {} bytes", bomb.len());
    let took = check(
        "1 GiB declared in 20 KB",
        &[("bomb.zip", &bomb)],
        &[("possible-zip-bomb", "attachment bomb.zip")],
    );
    eprintln!("declared 1 GiB bomb ({} bytes): {took:?}", bomb.len());
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// Ten entries pointing at one 20 MiB stream of zeros, each named as a tar so it is read
/// whole: the 64 MiB budget stops the reading at the fourth, whatever the headers say.
#[test]
fn overlapping_entries_bomb() {
    let (packed, crc) = deflated_zeros(20);
    let stream = Stream {
        method: 8,
        flags: 0,
        crc,
        packed: &packed,
        declared: 20 << 20,
    };
    let entries: Vec<(String, usize)> = (0..10).map(|i| (format!("{i}.tar"), 0)).collect();
    let bomb = raw_zip(&[stream], &entries);
    assert!(bomb.len() < 25 * 1024, "the bomb is {} bytes", bomb.len());
    let took = check(
        "overlapping entries",
        &[("overlap.zip", &bomb)],
        &[
            ("archive-too-large", "attachment overlap.zip > 3.tar"),
            ("possible-zip-bomb", "attachment overlap.zip"),
        ],
    );
    eprintln!(
        "overlapping-entries bomb ({} bytes, 200 MiB): {took:?}",
        bomb.len()
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
}
