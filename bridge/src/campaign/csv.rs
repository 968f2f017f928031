//! The recipient list: a CSV file with a header row, read with the `csv` crate.
//!
//! UTF-8 with or without a byte-order mark; the delimiter is a comma or a semicolon, whichever
//! the header line has more of outside quotes (spreadsheets in many locales write semicolons).
//! Rows keep however many fields they had, so a row of the wrong width is a problem of that row
//! (which the user may skip) rather than the end of the whole list.

use std::io::Read;
use std::path::Path;

/// How much of a list is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvConfig {
    /// A larger file is refused before it is read.
    pub max_bytes: u64,
}

impl Default for CsvConfig {
    fn default() -> CsvConfig {
        CsvConfig {
            max_bytes: 20 * 1024 * 1024,
        }
    }
}

/// A list as read: the columns of the header and the data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    pub columns: Vec<String>,
    pub delimiter: u8,
    pub rows: Vec<Row>,
}

/// One data row. `number` counts data rows from 1 (see the module docs of `campaign`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub number: usize,
    /// The line of the file the row starts on (the header is line 1).
    pub line: u64,
    pub values: Vec<String>,
}

/// Why a list cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the list is {size} bytes, over the limit of {max} bytes: split it into smaller files")]
    TooLarge { size: u64, max: u64 },
    #[error(
        "the list is not UTF-8 text: row {row} (line {line}) has an invalid byte at byte offset \
         {byte}; save the file as \"CSV UTF-8\""
    )]
    NotUtf8 {
        /// 0 when the header itself is at fault.
        row: usize,
        line: u64,
        byte: u64,
    },
    #[error("the list is empty: it needs a header row naming the columns")]
    NoHeader,
    #[error("column {index} of the header has no name: name every column")]
    UnnamedColumn { index: usize },
    #[error("the header names the column {name:?} twice: rename one of them")]
    DuplicateColumn { name: String },
    #[error("the list cannot be read near line {line}: {detail}")]
    Malformed { line: u64, detail: String },
    #[error("cannot read {what}: {detail}")]
    Io { what: String, detail: String },
}

impl Row {
    /// The row's value in column `index`, when the row is wide enough.
    pub fn get(&self, index: usize) -> Option<&str> {
        self.values.get(index).map(String::as_str)
    }
}

impl List {
    /// The index of a column, matched exactly first and then ignoring ASCII case.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|column| column == name)
            .or_else(|| {
                self.columns
                    .iter()
                    .position(|column| column.eq_ignore_ascii_case(name))
            })
    }
}

/// Reads a list from a file, refusing one over the cap before reading it.
pub fn read_path(path: &Path, config: &CsvConfig) -> Result<List, CsvError> {
    let io = |error: std::io::Error| CsvError::Io {
        what: path.display().to_string(),
        detail: error.to_string(),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > config.max_bytes {
        return Err(CsvError::TooLarge {
            size,
            max: config.max_bytes,
        });
    }
    read(file, config, &path.display().to_string())
}

/// Reads a list from a stream (such as standard input), stopping once it passes the cap.
pub fn read(reader: impl Read, config: &CsvConfig, what: &str) -> Result<List, CsvError> {
    let mut bytes = Vec::new();
    reader
        .take(config.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| CsvError::Io {
            what: what.to_owned(),
            detail: error.to_string(),
        })?;
    if bytes.len() as u64 > config.max_bytes {
        return Err(CsvError::TooLarge {
            size: bytes.len() as u64,
            max: config.max_bytes,
        });
    }
    parse(&bytes)
}

/// Parses a whole list held in memory.
pub fn parse(bytes: &[u8]) -> Result<List, CsvError> {
    let bom = bytes.starts_with(b"\xEF\xBB\xBF");
    let body = if bom { &bytes[3..] } else { bytes };
    let delimiter = detect_delimiter(body);
    if let Err(error) = std::str::from_utf8(body) {
        return Err(not_utf8(body, delimiter, error.valid_up_to(), bom));
    }
    let mut reader = reader(body, delimiter);
    let mut record = csv::StringRecord::new();
    let has_header = reader.read_record(&mut record).map_err(malformed)?;
    if !has_header || record.iter().all(|field| field.trim().is_empty()) {
        return Err(CsvError::NoHeader);
    }
    let mut columns: Vec<String> = Vec::with_capacity(record.len());
    for (index, name) in record.iter().enumerate() {
        let name = name.trim();
        if name.is_empty() {
            return Err(CsvError::UnnamedColumn { index: index + 1 });
        }
        if columns.iter().any(|c| c == name) {
            return Err(CsvError::DuplicateColumn {
                name: name.to_owned(),
            });
        }
        columns.push(name.to_owned());
    }
    let mut rows = Vec::new();
    loop {
        let line = reader.position().line();
        if !reader.read_record(&mut record).map_err(malformed)? {
            break;
        }
        // A blank line between rows is not a row; spreadsheets leave them at the end.
        if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
            continue;
        }
        rows.push(Row {
            number: rows.len() + 1,
            line,
            values: record.iter().map(str::to_owned).collect(),
        });
    }
    Ok(List {
        columns,
        delimiter,
        rows,
    })
}

fn reader(body: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body)
}

/// A semicolon when the header line has more of them than commas outside quotes.
fn detect_delimiter(body: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
    for &byte in body {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// Names the row and line holding the first invalid byte at `offset` (in `body`).
fn not_utf8(body: &[u8], delimiter: u8, offset: usize, bom: bool) -> CsvError {
    let line = 1 + body[..offset].iter().filter(|&&b| b == b'\n').count() as u64;
    // The record that starts last at or before the offset holds the byte; record 0 is the
    // header, so the record's index is its data row number.
    let mut reader = reader(body, delimiter);
    let mut record = csv::ByteRecord::new();
    let mut row = 0usize;
    let mut index = 0usize;
    loop {
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(true) if start as usize <= offset => {
                row = index;
                index += 1;
            }
            _ => break,
        }
    }
    CsvError::NotUtf8 {
        row,
        line,
        byte: offset as u64 + if bom { 3 } else { 0 },
    }
}

fn malformed(error: csv::Error) -> CsvError {
    let line = error.position().map_or(0, csv::Position::line);
    CsvError::Malformed {
        line,
        detail: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns, then each row's number and values.
    type Expected<'a> = (&'a [&'a str], &'a [(usize, &'a [&'a str])]);

    fn check(input: &[u8], (columns, rows): Expected<'_>) {
        let list = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(list.columns, columns, "{input:?}");
        let got: Vec<(usize, Vec<&str>)> = list
            .rows
            .iter()
            .map(|row| (row.number, row.values.iter().map(String::as_str).collect()))
            .collect();
        let want: Vec<(usize, Vec<&str>)> = rows
            .iter()
            .map(|(n, values)| (*n, values.to_vec()))
            .collect();
        assert_eq!(got, want, "{input:?}");
    }

    #[test]
    fn dialects() {
        let cases: &[(&[u8], Expected<'_>)] = &[
            (
                b"email,name\na@x.org,Ann\n",
                (&["email", "name"], &[(1, &["a@x.org", "Ann"])]),
            ),
            (
                b"\xEF\xBB\xBFemail,name\r\na@x.org,Ann\r\n",
                (&["email", "name"], &[(1, &["a@x.org", "Ann"])]),
            ),
            (
                b"email;name\na@x.org;M\xC3\xBCller, Ann\n",
                (&["email", "name"], &[(1, &["a@x.org", "M\u{fc}ller, Ann"])]),
            ),
            (
                b"email,note\na@x.org,\"says \"\"hi\"\", twice\nand more\"\nb@x.org,\n",
                (
                    &["email", "note"],
                    &[
                        (1, &["a@x.org", "says \"hi\", twice\nand more"]),
                        (2, &["b@x.org", ""]),
                    ],
                ),
            ),
            (b"\"a;b\",c\n1,2\n", (&["a;b", "c"], &[(1, &["1", "2"])])),
            (
                b"email,name\na@x.org\nb@x.org,Bo,extra\n\n",
                (
                    &["email", "name"],
                    &[(1, &["a@x.org"]), (2, &["b@x.org", "Bo", "extra"])],
                ),
            ),
        ];
        for (input, expected) in cases {
            check(input, *expected);
        }
    }

    #[test]
    fn unreadable_lists_say_where() {
        let cases: &[(&[u8], CsvError)] = &[
            (
                b"email,name\na@x.org,Ann\nb@x.org,J\xF6rg\n",
                CsvError::NotUtf8 {
                    row: 2,
                    line: 3,
                    byte: 32,
                },
            ),
            (
                b"\xEF\xBB\xBFemail\n\xFF@x.org\n",
                CsvError::NotUtf8 {
                    row: 1,
                    line: 2,
                    byte: 9,
                },
            ),
            (
                b"em\xE9il\na@x.org\n",
                CsvError::NotUtf8 {
                    row: 0,
                    line: 1,
                    byte: 2,
                },
            ),
            (b"", CsvError::NoHeader),
            (b"email,,name\n", CsvError::UnnamedColumn { index: 2 }),
            (
                b"email,Email,email\n",
                CsvError::DuplicateColumn {
                    name: "email".into(),
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input).as_ref(), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn a_list_over_the_cap_is_refused_before_it_is_read() {
        let config = CsvConfig { max_bytes: 10 };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.csv");
        std::fs::write(&path, "email\na@example.com\n").expect("write");
        assert_eq!(
            read_path(&path, &config),
            Err(CsvError::TooLarge { size: 20, max: 10 })
        );
        assert_eq!(
            read(&b"email\na@example.com\n"[..], &config, "standard input"),
            Err(CsvError::TooLarge { size: 11, max: 10 })
        );
        assert!(read(&b"email\n"[..], &config, "standard input").is_ok());
    }
}
