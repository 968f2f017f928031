//! Attachments: the file types Gmail blocks, decided by extension and by content, including
//! inside `.zip` and `.tar.gz` archives, with bounded work for hostile archives.
//!
//! Gmail refuses a message that carries a blocked file type anywhere: as an attachment, renamed,
//! or inside an archive (support.google.com/mail/answer/6590). So every attachment is checked
//! by its name and by its first bytes, and archives are opened and walked the same way.
//!
//! An attachment is hostile input: a 20 KB zip can claim a terabyte, nest itself, or point many
//! entries at one compressed stream. Nothing here trusts a declared size. The work one message
//! may cost is capped by [`LIMITS`]: bytes read out of archives, bytes sniffed per file, files
//! and nesting depth. Hitting a cap is a finding the user can act on, never an error or a panic.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, Cursor, Read};

use flate2::read::MultiGzDecoder;
use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};
use protocol::{CheckKind, Finding, Severity};

use crate::size::thousands;

pub(crate) fn check(message: &Message<'_>, out: &mut Vec<Finding>) {
    // Gmail's 25 MB counts the decoded attachments, which only the parsed message knows; lib.rs
    // hands size.rs the raw bytes alone, so that half of the size check runs from here.
    crate::size::check_attachments(message, out);
    scan_message(message, LIMITS, out);
}

/// Gmail's blocked file types (support.google.com/mail/answer/6590), lower case, without the
/// dot. `diagpkg` is Google's current spelling and `diagpack` an older one; both are listed.
const BLOCKED_EXTENSIONS: &[&str] = &[
    "ade",
    "adp",
    "apk",
    "appx",
    "appxbundle",
    "bat",
    "cab",
    "chm",
    "cmd",
    "com",
    "cpl",
    "diagcab",
    "diagcfg",
    "diagpack",
    "diagpkg",
    "dll",
    "dmg",
    "ex",
    "ex_",
    "exe",
    "hta",
    "img",
    "ins",
    "iso",
    "isp",
    "jar",
    "jnlp",
    "js",
    "jse",
    "lib",
    "lnk",
    "mde",
    "mjs",
    "msc",
    "msi",
    "msix",
    "msixbundle",
    "msp",
    "mst",
    "nsh",
    "pif",
    "ps1",
    "scr",
    "sct",
    "shb",
    "sys",
    "vb",
    "vbe",
    "vbs",
    "vhd",
    "vxd",
    "wsc",
    "wsf",
    "wsh",
    "xll",
];

/// The bounds on what one message's attachments may cost to examine.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Bytes read out of all the message's archives together (decompressed, or copied out of
    /// a tar). Past this the scan stops reading and says so.
    expanded_bytes: u64,
    /// Bytes read from each file inside an archive to recognise its type. Nested archives are
    /// read whole (within `expanded_bytes`), since they must be opened.
    sniff_bytes: usize,
    /// How far a sniff may reach for a header that points further in (a PE or OLE header).
    sniff_reach: usize,
    /// Files inside archives, for the whole message.
    entries: usize,
    /// Archives inside archives: an attachment is at depth 0, a file in it at depth 1.
    depth: usize,
}

/// 64 MiB is about twice what a message Gmail accepts can hold uncompressed in attachments,
/// so honest archives rarely reach it, while a bomb is stopped after a fraction of a second.
const LIMITS: Limits = Limits {
    expanded_bytes: 64 * 1024 * 1024,
    sniff_bytes: 8 * 1024,
    sniff_reach: 1024 * 1024,
    entries: 10_000,
    depth: 5,
};

/// An archive that declares this many times its own size uncompressed is treated as a
/// possible bomb: deflate tops out near 1,000 to 1, and honest text rarely passes 20 to 1.
const SUSPICIOUS_RATIO: u64 = 100;

fn scan_message(message: &Message<'_>, limits: Limits, out: &mut Vec<Finding>) {
    let budget = Budget {
        bytes_left: Cell::new(limits.expanded_bytes),
        entries_left: Cell::new(limits.entries),
        hit: Cell::new(false),
    };
    let mut scan = Scan {
        limits,
        budget: &budget,
        out,
        reported_too_large: false,
        reported_too_many: false,
    };
    scan.message(message, "", 0);
}

/// What is left of [`Limits`] for the message being checked. Shared by reference so a reader
/// deep inside a tar stream can charge it while the scan keeps pushing findings.
struct Budget {
    bytes_left: Cell<u64>,
    entries_left: Cell<usize>,
    /// A read was refused because `bytes_left` ran out.
    hit: Cell<bool>,
}

impl Budget {
    /// Counts one more file inside an archive; false once the cap is passed.
    fn take_entry(&self) -> bool {
        match self.entries_left.get().checked_sub(1) {
            Some(left) => {
                self.entries_left.set(left);
                true
            }
            None => false,
        }
    }
}

/// A reader that charges every byte it yields to the budget, and fails once it is spent.
struct Charged<'b, R> {
    inner: R,
    budget: &'b Budget,
}

impl<R: Read> Read for Charged<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.budget.bytes_left.get();
        if left == 0 {
            // A spent budget at the exact end of the data is not an overrun: probe one byte.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    self.budget.hit.set(true);
                    Err(io::Error::other("the examination budget is spent"))
                }
            };
        }
        let allowed = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..allowed])?;
        self.budget.bytes_left.set(left.saturating_sub(n as u64));
        Ok(n)
    }
}

/// Appends from `reader` until `buf` holds more than `limit` bytes or the reader ends, and
/// says whether it ended. One byte past `limit` is kept, so reading can resume without a gap.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, limit: usize) -> io::Result<bool> {
    let want = limit.saturating_add(1).saturating_sub(buf.len());
    reader.take(want as u64).read_to_end(buf)?;
    Ok(buf.len() <= limit)
}

/// What a file's bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    /// A program Gmail refuses however it is named, in words: "a Windows program (.exe)".
    Program(&'static str),
    /// A script with a `#!` line.
    Script,
    Zip,
    Gzip,
    Tar,
    /// An archive format this check cannot open, in words: "a RAR archive".
    Opaque(&'static str),
    Other,
}

impl Content {
    fn is_archive(self) -> bool {
        matches!(self, Content::Zip | Content::Gzip | Content::Tar)
    }
}

/// Recognises `data` by its bytes, falling back to its name for archives, so a garbage file
/// called `.zip` is still tried as a zip and reported as unreadable. `complete` says `data` is
/// the whole file, which the signatures at the end of a file (DMG, VHD) need.
fn recognise(name: &str, data: &[u8], complete: bool) -> Content {
    let by_content = sniff(data, complete);
    if by_content != Content::Other {
        return by_content;
    }
    let lower = name.to_ascii_lowercase();
    match extension(&lower) {
        Some("zip") => Content::Zip,
        Some("tar") => Content::Tar,
        Some("gz" | "tgz" | "taz") => Content::Gzip,
        Some("rar") => Content::Opaque("a RAR archive"),
        Some("7z") => Content::Opaque("a 7-Zip archive"),
        Some("bz2" | "tbz" | "tbz2") => Content::Opaque("a bzip2 archive"),
        Some("xz" | "txz") => Content::Opaque("an xz archive"),
        _ => Content::Other,
    }
}

fn sniff(data: &[u8], complete: bool) -> Content {
    if let Some(what) = windows_program(data) {
        return Content::Program(what);
    }
    if infer::app::is_elf(data) {
        return Content::Program("a Linux program (ELF)");
    }
    if infer::app::is_mach(data) {
        return Content::Program("a macOS program (Mach-O)");
    }
    if infer::app::is_java(data) {
        return Content::Program("a compiled Java class");
    }
    if is_windows_installer(data) {
        return Content::Program("a Windows Installer package (.msi)");
    }
    if data.starts_with(LNK_HEADER) {
        return Content::Program("a Windows shortcut (.lnk)");
    }
    if infer::archive::is_cab(data) {
        return Content::Program("a Windows cabinet (.cab)");
    }
    // ISO 9660 puts its volume descriptor at 32 KiB, past an archive entry's sniff, so this
    // only recognises whole attachments; that is where a renamed .iso usually is.
    if [0x8001, 0x8801, 0x9001]
        .iter()
        .any(|&at| data.get(at..at + 5) == Some(b"CD001"))
    {
        return Content::Program("a disk image (.iso)");
    }
    if complete && data.len() >= 512 {
        let footer = &data[data.len() - 512..];
        if footer.starts_with(b"koly") {
            return Content::Program("a macOS disk image (.dmg)");
        }
        if footer.starts_with(b"conectix") {
            return Content::Program("a virtual hard disk (.vhd)");
        }
    }
    if data.starts_with(b"#!") {
        return Content::Script;
    }
    if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
        return Content::Zip;
    }
    if infer::archive::is_gz(data) {
        return Content::Gzip;
    }
    if infer::archive::is_tar(data) {
        return Content::Tar;
    }
    if infer::archive::is_rar(data) {
        return Content::Opaque("a RAR archive");
    }
    if infer::archive::is_7z(data) {
        return Content::Opaque("a 7-Zip archive");
    }
    if infer::archive::is_bz2(data) {
        return Content::Opaque("a bzip2 archive");
    }
    if infer::archive::is_xz(data) {
        return Content::Opaque("an xz archive");
    }
    Content::Other
}

/// The Windows shortcut header: its size (0x4C) and the shell link CLSID.
const LNK_HEADER: &[u8] = &[
    0x4C, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x46,
];

/// The OLE compound file signature, shared by .msi and by old Office files.
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn le_u16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        data.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Where a PE file's `PE\0\0` signature is, from the DOS header's `e_lfanew`. infer calls any
/// file that starts with `MZ` a program; text can start with "MZ", so the PE header must exist.
fn pe_header(data: &[u8]) -> Option<usize> {
    if !data.starts_with(b"MZ") {
        return None;
    }
    usize::try_from(le_u32(data, 0x3C)?).ok()
}

fn windows_program(data: &[u8]) -> Option<&'static str> {
    let at = pe_header(data)?;
    if data.get(at..at.checked_add(4)?)? != b"PE\0\0" {
        return None;
    }
    // The COFF header's Characteristics field, 18 bytes after the signature, marks a DLL.
    let characteristics = le_u16(data, at + 22).unwrap_or(0);
    Some(if characteristics & 0x2000 != 0 {
        "a Windows library (.dll)"
    } else {
        "a Windows program (.exe)"
    })
}

/// Where an OLE file's root directory entry ends, which holds the CLSID that tells a Windows
/// Installer database from a Word document.
fn ole_root_entry_end(data: &[u8]) -> Option<usize> {
    if !data.starts_with(OLE_MAGIC) {
        return None;
    }
    let shift = le_u16(data, 0x1E)?;
    if shift != 9 && shift != 12 {
        return None;
    }
    let first_directory_sector = usize::try_from(le_u32(data, 0x30)?).ok()?;
    first_directory_sector
        .checked_add(1)?
        .checked_mul(1 << shift)?
        .checked_add(0x60)
}

/// An .msi (000C1084), .msp (000C1086) or .mst (000C1082) by the root entry's CLSID
/// `{000C108x-0000-0000-C000-000000000046}`; other OLE files (.doc, .xls, .msg) are not.
fn is_windows_installer(data: &[u8]) -> bool {
    let Some(end) = ole_root_entry_end(data) else {
        return false;
    };
    let Some(clsid) = data.get(end - 0x10..end) else {
        return false;
    };
    let tail: &[u8] = &[0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];
    matches!(
        le_u32(clsid, 0),
        Some(0x000C_1082 | 0x000C_1084 | 0x000C_1086)
    ) && &clsid[4..] == tail
}

/// How many bytes sniffing `head` needs: a PE or OLE header may point past the first bytes.
fn sniff_wants(head: &[u8], limits: Limits) -> usize {
    let further = pe_header(head)
        .and_then(|at| at.checked_add(24))
        .or_else(|| ole_root_entry_end(head));
    match further {
        Some(end) if end <= limits.sniff_reach => end.max(limits.sniff_bytes),
        _ => limits.sniff_bytes,
    }
}

/// The last component of a path inside an archive, or the name itself.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The extension of a lower-case name. Windows ignores trailing dots and spaces, so
/// `setup.exe. ` runs as `setup.exe`; they are trimmed first.
fn extension(lower: &str) -> Option<&str> {
    let name = file_name(lower).trim_end_matches(['.', ' ']);
    name.rsplit_once('.').map(|(_, ext)| ext)
}

fn blocked_extension(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let ext = extension(&lower)?;
    BLOCKED_EXTENSIONS.contains(&ext).then(|| ext.to_owned())
}

/// The name of the file a `.gz` holds: `notes.txt.gz` holds `notes.txt`, `logs.tgz` a tar.
fn gunzipped_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for (suffix, replacement) in [(".tgz", ".tar"), (".taz", ".tar"), (".gz", "")] {
        if lower.ends_with(suffix) {
            // The suffix is ASCII, so cutting at its length stays on a character boundary.
            return format!("{}{replacement}", &name[..name.len() - suffix.len()]);
        }
    }
    name.to_owned()
}

/// A size in words for findings: "20 KiB", "1,024 MiB".
fn human(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", thousands(bytes / (1024 * 1024)))
    } else if bytes >= 1024 {
        format!("{} KiB", thousands(bytes / 1024))
    } else {
        format!("{} bytes", thousands(bytes))
    }
}

const SHARE: &str = "remove it, or upload it to Google Drive and send a link instead";

/// One walk over a message's attachments.
struct Scan<'b, 'o> {
    limits: Limits,
    budget: &'b Budget,
    out: &'o mut Vec<Finding>,
    reported_too_large: bool,
    reported_too_many: bool,
}

impl Scan<'_, '_> {
    fn push(
        &mut self,
        severity: Severity,
        code: &str,
        found: String,
        path: &str,
        why: &str,
        fix: &str,
    ) {
        self.out.push(Finding {
            check: CheckKind::Attachments,
            severity,
            code: code.into(),
            found,
            location: format!("attachment {path}"),
            why: why.into(),
            fix: fix.into(),
        });
    }

    /// Every attachment of `message`, and of messages attached to it. `prefix` is the path of
    /// the attached message, so a file in it reads `forward.eml > setup.exe`.
    fn message(&mut self, message: &Message<'_>, prefix: &str, depth: usize) {
        for (index, part) in message.attachments().enumerate() {
            let name = part
                .attachment_name()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("attachment {} without a name", index + 1));
            let path = format!("{prefix}{name}");
            if let PartType::Message(nested) = &part.body {
                // mail_parser bounds how deep attached messages nest; this keeps the archive
                // depth cap meaningful for archives inside them too.
                if depth < self.limits.depth {
                    self.message(nested, &format!("{path} > "), depth + 1);
                }
                continue;
            }
            if self.blocked_by_name(&path, &name) {
                continue;
            }
            let data = original_bytes(message, part);
            let content = recognise(&name, &data, true);
            self.content(&path, &name, &data, content, true, depth);
        }
    }

    /// Reports a blocked extension; true if it was one, so the caller looks no further.
    fn blocked_by_name(&mut self, path: &str, name: &str) -> bool {
        let Some(ext) = blocked_extension(name) else {
            return false;
        };
        self.push(
            Severity::Blocker,
            "blocked-attachment",
            format!("{} is a .{ext} file, a type Gmail blocks", file_name(name)),
            path,
            "Gmail refuses messages that carry this file type, also inside archives such as \
             .zip or .tar.gz (support.google.com/mail/answer/6590): the message bounces",
            SHARE,
        );
        true
    }

    /// Acts on what a file is. `data` is the whole file when `complete`, else its first bytes.
    fn content(
        &mut self,
        path: &str,
        name: &str,
        data: &[u8],
        content: Content,
        complete: bool,
        depth: usize,
    ) {
        if content.is_archive() && depth >= self.limits.depth {
            self.push(
                Severity::Warning,
                "archive-too-deep",
                format!(
                    "{} is an archive nested {depth} archives deep; mailbridge looks no deeper \
                     than {}",
                    file_name(name),
                    self.limits.depth
                ),
                path,
                "archives nested this deep are a way to hide files from virus scanners; Gmail \
                 may refuse the message as one it cannot scan, and the files inside were not \
                 checked for blocked types",
                "put the files in one archive instead of archives inside archives",
            );
            return;
        }
        match content {
            Content::Program(what) => self.push(
                Severity::Blocker,
                "blocked-content",
                format!("{} is {what}, whatever its name says", file_name(name)),
                path,
                "Gmail refuses executable files and recognises them by their content, so \
                 renaming one (to .txt, say) does not get it through (support.google.com/mail/\
                 answer/6590): the message bounces",
                SHARE,
            ),
            Content::Script => self.push(
                Severity::Warning,
                "script-content",
                format!("{} is a script (it starts with #!)", file_name(name)),
                path,
                "Gmail blocks scripts by several names (.js, .vbs, .ps1, .bat) and its virus \
                 scanner weighs any attached script; recipients' scanners often strip them",
                "share the script through a link or a code host instead of attaching it",
            ),
            Content::Opaque(what) => self.push(
                Severity::Advice,
                "archive-not-examined",
                format!(
                    "{} is {what}, which mailbridge cannot look inside",
                    file_name(name)
                ),
                path,
                "Gmail opens these archives and refuses the message if a blocked file type is \
                 inside; this check could not look",
                "make sure it holds no programs or scripts, or send a .zip instead",
            ),
            Content::Zip => {
                if complete {
                    self.zip(path, data, depth);
                }
            }
            Content::Gzip => {
                if complete {
                    self.gzip(path, name, data, depth);
                }
            }
            Content::Tar => {
                if complete {
                    let reader = Charged {
                        inner: data,
                        budget: self.budget,
                    };
                    self.tar(path, reader, data.len() as u64, depth);
                }
            }
            Content::Other => {}
        }
    }

    fn unreadable(&mut self, path: &str, format: &str, error: &dyn std::fmt::Display) {
        self.push(
            Severity::Warning,
            "archive-unreadable",
            format!(
                "{} could not be read as a {format}: {error}",
                file_name(path)
            ),
            path,
            "Gmail refuses corrupted attachments and archives it cannot scan, so the message \
             may bounce or lose the attachment",
            "create the archive again with a common tool, or attach the files themselves",
        );
    }

    fn not_examined(&mut self, path: &str, reason: &dyn std::fmt::Display) {
        self.push(
            Severity::Advice,
            "archive-not-examined",
            format!(
                "mailbridge could not look inside {}: {reason}",
                file_name(path)
            ),
            path,
            "Gmail opens archives and refuses the message if a blocked file type is inside; \
             this check could not look at this file",
            "make sure it is not a program or script, or re-create the archive with ordinary \
             (deflate) compression",
        );
    }

    fn too_large(&mut self, path: &str) {
        if std::mem::replace(&mut self.reported_too_large, true) {
            return;
        }
        self.push(
            Severity::Warning,
            "archive-too-large",
            format!(
                "the archives expand beyond {}; mailbridge stopped reading at {path}",
                human(self.limits.expanded_bytes)
            ),
            path,
            "Gmail scans inside archives and may refuse one that expands this far as a possible \
             zip bomb; the files past this point were not checked for blocked types",
            "send fewer or smaller archives, or share large ones with a Google Drive link",
        );
    }

    fn too_many(&mut self, path: &str) {
        if std::mem::replace(&mut self.reported_too_many, true) {
            return;
        }
        self.push(
            Severity::Warning,
            "archive-too-many-files",
            format!(
                "the archives hold more than {} files; mailbridge stopped at {path}",
                thousands(self.limits.entries as u64)
            ),
            path,
            "an archive this full is slow to scan and a way to hide a file; Gmail may refuse it, \
             and the files past this point were not checked for blocked types",
            "split the files over fewer, smaller archives, or share them with a Google Drive link",
        );
    }

    /// Warns when an archive declares far more than it could honestly hold. The declared sizes
    /// are only compared here, never used to size a buffer.
    fn check_ratio(&mut self, path: &str, declared: u64, packed: u64) {
        if declared > self.limits.expanded_bytes && declared / packed.max(1) > SUSPICIOUS_RATIO {
            self.push(
                Severity::Warning,
                "possible-zip-bomb",
                format!(
                    "{} declares {} of files in {} ({} to 1)",
                    file_name(path),
                    human(declared),
                    human(packed),
                    thousands(declared / packed.max(1))
                ),
                path,
                "an archive that expands this far is how zip bombs exhaust virus scanners; \
                 Gmail refuses archives it cannot scan",
                "send the files uncompressed or in an ordinary archive, or share them with a \
                 Google Drive link",
            );
        }
    }

    /// Reads a file inside an archive: enough to sniff it, or all of it (within the budget)
    /// when it is an archive to open. Reports the budget running out, and says what it read.
    /// `depth` is the file's own, so a nested archive too deep to open is not read whole.
    fn read_entry(
        &mut self,
        path: &str,
        name: &str,
        depth: usize,
        reader: &mut impl Read,
    ) -> Option<(Vec<u8>, Content, bool)> {
        let mut data = Vec::new();
        let mut result = fill(reader, &mut data, self.limits.sniff_bytes);
        if let Ok(false) = result {
            let wants = sniff_wants(&data, self.limits);
            if wants > self.limits.sniff_bytes {
                result = fill(reader, &mut data, wants);
            }
        }
        let mut content = Content::Other;
        if let Ok(complete) = result {
            content = recognise(name, &data, complete);
            if content.is_archive() && !complete && depth < self.limits.depth {
                let all = usize::try_from(self.limits.expanded_bytes).unwrap_or(usize::MAX);
                result = fill(reader, &mut data, all);
            }
        }
        match result {
            Ok(complete) => Some((data, content, complete)),
            Err(_) if self.budget.hit.get() => {
                self.too_large(path);
                None
            }
            Err(error) => {
                self.not_examined(path, &error);
                None
            }
        }
    }

    fn zip(&mut self, path: &str, data: &[u8], depth: usize) {
        // The zip crate indexes every central directory record before the first can be read,
        // a few hundred bytes of memory each. Every record starts with this signature, so
        // counting them first keeps the index within the entries cap, whatever the archive
        // declares: 25 MB of tiny records would otherwise cost a couple of hundred MB.
        let records = data.windows(4).filter(|w| *w == b"PK\x01\x02").count();
        if records > self.budget.entries_left.get() {
            return self.too_many(path);
        }
        let mut archive = match zip::ZipArchive::new(Cursor::new(data)) {
            Ok(archive) => archive,
            Err(error) => return self.unreadable(path, "zip", &error),
        };
        if let Some(what) = zip_program(&archive) {
            self.push(
                Severity::Blocker,
                "blocked-content",
                format!("{} is {what}, whatever its name says", file_name(path)),
                path,
                "Gmail refuses these packages and recognises them by their content, so renaming \
                 one does not get it through (support.google.com/mail/answer/6590)",
                SHARE,
            );
            return;
        }
        let mut declared = 0u64;
        let mut files = 0usize;
        let mut encrypted = Vec::new();
        for index in 0..archive.len() {
            if !self.budget.take_entry() {
                self.too_many(path);
                break;
            }
            let (name, is_dir, is_encrypted, size) = match archive.by_index_data(index) {
                Ok(entry) => (
                    String::from_utf8_lossy(entry.name_raw()).into_owned(),
                    entry.is_dir(),
                    entry.encrypted(),
                    entry.size(),
                ),
                Err(error) => {
                    self.unreadable(path, "zip", &error);
                    break;
                }
            };
            if is_dir {
                continue;
            }
            files += 1;
            declared = declared.saturating_add(size);
            let entry_path = format!("{path} > {name}");
            if self.blocked_by_name(&entry_path, &name) {
                continue;
            }
            if is_encrypted {
                if recognise(&name, &[], false).is_archive() {
                    self.push(
                        Severity::Blocker,
                        "encrypted-archive-in-archive",
                        format!(
                            "{} is an archive inside an encrypted archive",
                            file_name(&name)
                        ),
                        &entry_path,
                        "Gmail refuses password-protected archives that contain another archive, \
                         because it cannot scan them (support.google.com/mail/answer/6590)",
                        "send the files without a password, or share them with a Google Drive \
                         link limited to the recipients",
                    );
                }
                encrypted.push(name);
                continue;
            }
            // Once the budget is spent, names are still checked above but nothing is read.
            if self.budget.hit.get() {
                continue;
            }
            let mut reader = match archive.by_index(index) {
                Ok(file) => Charged {
                    inner: file,
                    budget: self.budget,
                },
                Err(zip::result::ZipError::UnsupportedArchive(reason)) => {
                    self.not_examined(&entry_path, &reason);
                    continue;
                }
                Err(error) => {
                    self.unreadable(&entry_path, "file in a zip", &error);
                    continue;
                }
            };
            let Some((bytes, content, complete)) =
                self.read_entry(&entry_path, &name, depth + 1, &mut reader)
            else {
                continue;
            };
            self.content(&entry_path, &name, &bytes, content, complete, depth + 1);
        }
        if let Some(first) = encrypted.first() {
            self.push(
                Severity::Warning,
                "encrypted-archive",
                format!(
                    "{} of the {files} files in {} are encrypted (the first is {first})",
                    encrypted.len(),
                    file_name(path)
                ),
                path,
                "Gmail cannot scan inside encrypted archives; it refuses those holding another \
                 archive and may treat the rest as possible malware",
                "send the files without a password, or share them with a Google Drive link \
                 limited to the recipients",
            );
        }
        self.check_ratio(path, declared, data.len() as u64);
    }

    fn gzip(&mut self, path: &str, name: &str, data: &[u8], depth: usize) {
        let inner_name = gunzipped_name(file_name(name));
        let mut reader = Charged {
            inner: MultiGzDecoder::new(data),
            budget: self.budget,
        };
        let mut head = Vec::new();
        match fill(&mut reader, &mut head, self.limits.sniff_bytes) {
            Ok(_) => {}
            Err(_) if self.budget.hit.get() => return self.too_large(path),
            Err(error) => return self.unreadable(path, "gzip", &error),
        }
        // A .tar.gz is one archive to its users: its files read `logs.tar.gz > x.js`.
        if recognise(&inner_name, &head, false) == Content::Tar {
            let stream = Cursor::new(head).chain(reader);
            return self.tar(path, stream, data.len() as u64, depth);
        }
        let inner_path = format!("{path} > {inner_name}");
        if self.blocked_by_name(&inner_path, &inner_name) {
            return;
        }
        let mut stream = Cursor::new(head).chain(reader);
        if let Some((inner, content, complete)) =
            self.read_entry(&inner_path, &inner_name, depth + 1, &mut stream)
        {
            self.content(
                &inner_path,
                &inner_name,
                &inner,
                content,
                complete,
                depth + 1,
            );
        }
    }

    /// Walks a tar stream. Tar has no index, so skipping a file means reading through it: the
    /// caller hands in a reader that is already charged to the budget.
    fn tar(&mut self, path: &str, stream: impl Read, packed: u64, depth: usize) {
        let mut archive = tar::Archive::new(stream);
        let entries = match archive.entries() {
            Ok(entries) => entries,
            Err(error) => return self.unreadable(path, "tar", &error),
        };
        let mut declared = 0u64;
        for entry in entries {
            let mut entry = match entry {
                Ok(entry) => entry,
                Err(_) if self.budget.hit.get() => {
                    self.too_large(path);
                    break;
                }
                Err(error) => {
                    self.unreadable(path, "tar", &error);
                    break;
                }
            };
            if !self.budget.take_entry() {
                self.too_many(path);
                break;
            }
            if !entry.header().entry_type().is_file() {
                continue;
            }
            declared = declared.saturating_add(entry.size());
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let entry_path = format!("{path} > {name}");
            if self.blocked_by_name(&entry_path, &name) {
                continue;
            }
            let Some((bytes, content, complete)) =
                self.read_entry(&entry_path, &name, depth + 1, &mut entry)
            else {
                // A tar stream cannot skip past a file it failed to read.
                if self.budget.hit.get() {
                    break;
                }
                continue;
            };
            self.content(&entry_path, &name, &bytes, content, complete, depth + 1);
        }
        self.check_ratio(path, declared, packed);
    }
}

/// A zip that is really a package Gmail blocks, by the manifest each kind must carry.
fn zip_program<R: Read + io::Seek>(archive: &zip::ZipArchive<R>) -> Option<&'static str> {
    let has = |name: &str| archive.index_for_name(name).is_some();
    if has("AndroidManifest.xml") && has("classes.dex") {
        Some("an Android app (.apk)")
    } else if has("AppxManifest.xml") || has("AppxMetadata/AppxBundleManifest.xml") {
        Some("a Windows app package (.appx or .msix)")
    } else if has("META-INF/MANIFEST.MF") {
        Some("a Java archive (.jar)")
    } else {
        None
    }
}

/// An attachment's bytes as they were before any charset decoding. mail_parser turns a
/// `text/*` attachment into UTF-8 text, which mangles a program renamed `report.txt`; its
/// transfer encoding is undone here from the raw part instead.
fn original_bytes<'m>(message: &'m Message<'_>, part: &'m MessagePart<'_>) -> Cow<'m, [u8]> {
    if !matches!(part.body, PartType::Text(_) | PartType::Html(_)) {
        return Cow::Borrowed(part.contents());
    }
    let raw = message.raw_message();
    let (start, end) = (
        part.raw_body_offset() as usize,
        part.raw_end_offset() as usize,
    );
    let Some(body) = raw.get(start..end.min(raw.len())) else {
        return Cow::Borrowed(part.contents());
    };
    let decoded = match part.encoding {
        Encoding::Base64 => mail_parser::decoders::base64::base64_decode(body),
        Encoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(body)
        }
        Encoding::None => return Cow::Borrowed(body),
    };
    decoded.map_or(Cow::Borrowed(part.contents()), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::{Duration, Instant};

    use mail_parser::MessageParser;

    use super::*;

    /// A message with one attachment, as a raw RFC 5322 text with a base64 body.
    fn mail(name: &str, data: &[u8]) -> Vec<u8> {
        let mut raw = format!(
            "From: a@example.com\r\nTo: b@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
             see attached\r\n--b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        .into_bytes();
        for line in base64(data).as_bytes().chunks(76) {
            raw.extend_from_slice(line);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"--b--\r\n");
        raw
    }

    fn base64(data: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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

    /// Scans a message with `limits`, returning (code, location) pairs and the time taken.
    fn scan(raw: &[u8], limits: Limits) -> (Vec<(String, String)>, Duration) {
        let message = MessageParser::default()
            .parse(raw)
            .expect("the test message parses");
        let started = Instant::now();
        let mut out = Vec::new();
        scan_message(&message, limits, &mut out);
        let took = started.elapsed();
        (
            out.into_iter().map(|f| (f.code, f.location)).collect(),
            took,
        )
    }

    /// Each cap, shrunk so the test is quick, turns into its finding instead of more work.
    #[test]
    fn caps_become_findings() {
        let small = Limits {
            expanded_bytes: 64 * 1024,
            sniff_bytes: 512,
            sniff_reach: 4096,
            entries: 20,
            depth: 2,
        };
        let zeros = vec![0u8; 1024 * 1024];
        let many: Vec<(String, Vec<u8>)> = (0..30)
            .map(|i| (format!("{i}.txt"), b"hello".to_vec()))
            .collect();
        let many: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let deep = zip_of(&[("c.zip", &zip_of(&[("b.zip", &zip_of(&[("a.txt", b"hi")]))]))]);
        type Case<'a> = (&'a str, Vec<u8>, &'a [(&'a str, &'a str)]);
        let cases: &[Case<'_>] = &[
            // A nested archive is read whole, so 1 MiB of zeros passes the 64 KiB budget.
            // Zeros compress 1,000 to 1, so both also look like bombs by their declared sizes.
            (
                "big.zip",
                zip_of(&[("inner.zip", &zeros)]),
                &[
                    ("archive-too-large", "attachment big.zip > inner.zip"),
                    ("possible-zip-bomb", "attachment big.zip"),
                ],
            ),
            // A plain file is only sniffed, so the same zeros cost 512 bytes and are not read.
            (
                "plain.zip",
                zip_of(&[("zeros.bin", &zeros)]),
                &[("possible-zip-bomb", "attachment plain.zip")],
            ),
            (
                "many.zip",
                zip_of(&many),
                &[("archive-too-many-files", "attachment many.zip")],
            ),
            (
                "deep.zip",
                deep,
                &[("archive-too-deep", "attachment deep.zip > c.zip > b.zip")],
            ),
        ];
        for (name, data, expected) in cases {
            let (found, took) = scan(&mail(name, data), small);
            let found: Vec<(&str, &str)> = found
                .iter()
                .map(|(c, l)| (c.as_str(), l.as_str()))
                .collect();
            assert_eq!(&found, expected, "{name}");
            assert!(took < Duration::from_secs(2), "{name} took {took:?}");
        }
    }

    /// A renamed program far past the first bytes' reach is still found, by following the
    /// header's pointer, and an "MZ" text is not taken for one.
    #[test]
    fn sniffing_follows_headers() {
        let mut pe = vec![0u8; 20_000];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3C..0x40].copy_from_slice(&16_000u32.to_le_bytes());
        pe[16_000..16_004].copy_from_slice(b"PE\0\0");
        let cases: &[(&[u8], Content)] = &[
            (&pe, Content::Program("a Windows program (.exe)")),
            (b"MZ is where the meeting is, see you there at ten past nine in the morning, bring notes", Content::Other),
            (b"#!/bin/sh\necho hi\n", Content::Script),
            (b"%PDF-1.7\n", Content::Other),
        ];
        for (data, expected) in cases {
            let zip = zip_of(&[("notes.txt", data)]);
            let message = mail("notes.zip", &zip);
            let (found, _) = scan(&message, LIMITS);
            let codes: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
            let wanted: &[&str] = match expected {
                Content::Program(_) => &["blocked-content"],
                Content::Script => &["script-content"],
                _ => &[],
            };
            assert_eq!(
                codes,
                wanted,
                "{:?}",
                String::from_utf8_lossy(&data[..data.len().min(20)])
            );
            assert_eq!(sniff(data, true), *expected);
        }
    }

    #[test]
    fn names() {
        let cases = [
            ("setup.EXE", Some("exe")),
            ("setup.exe. ", Some("exe")),
            ("dir/sub\\run.ps1", Some("ps1")),
            ("report.pdf", None),
            ("archive.tar.gz", None),
            ("exe", None),
        ];
        for (name, expected) in cases {
            assert_eq!(blocked_extension(name).as_deref(), expected, "{name}");
        }
        assert_eq!(gunzipped_name("Notes.TXT.gz"), "Notes.TXT");
        assert_eq!(gunzipped_name("logs.tgz"), "logs.tar");
        assert_eq!(human(1 << 30), "1,024 MiB");
    }
}
