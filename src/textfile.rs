//! Text files from outside (pack, configuration, CSV): bytes that are not UTF-8 are
//! reported at the line and column where they start, not as a bare "invalid UTF-8".

use std::io;
use std::path::Path;

/// Where the first invalid byte is: 1-based line, and column in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadUtf8 {
    pub line: usize,
    pub column: usize,
    pub byte: u8,
}

impl std::fmt::Display for BadUtf8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: error: byte 0x{:02x} is not UTF-8 (save the file as UTF-8)",
            self.line, self.column, self.byte
        )
    }
}

/// The bytes as a string, or where they stop being UTF-8.
pub fn utf8(bytes: Vec<u8>) -> Result<String, BadUtf8> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        // Everything before `at` is valid UTF-8.
        let good = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let line_start = good.rfind('\n').map_or(0, |i| i + 1);
        BadUtf8 {
            line: good.matches('\n').count() + 1,
            column: good[line_start..].chars().count() + 1,
            byte: bytes.get(at).copied().unwrap_or_default(),
        }
    })
}

/// Reads a UTF-8 file; errors start with the path (and `line:col` for bad bytes).
pub fn read(path: &Path) -> io::Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    utf8(bytes).map_err(|bad| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}:{bad}", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bad_byte_is_located_by_line_and_character() {
        assert_eq!(utf8(b"ok\n".to_vec()).as_deref(), Ok("ok\n"));
        let bad = utf8(b"intents:\n  - id: \xc3\xa7ok\xff\n".to_vec());
        assert_eq!(
            bad,
            Err(BadUtf8 {
                line: 2,
                column: 12,
                byte: 0xff
            })
        );
        assert_eq!(
            bad.map_err(|b| b.to_string()).unwrap_err(),
            "2:12: error: byte 0xff is not UTF-8 (save the file as UTF-8)"
        );
    }
}
