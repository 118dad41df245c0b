//! A migration document read from its file in pieces: the file is scanned once for its `===`
//! separators, then each part is read from disk when it is needed, so an import or a
//! verification of a file of any size holds a few YAML documents of it at a time (calicoctl
//! refuses documents over 10 MiB), not the whole file. Standard input is copied to an
//! anonymous temporary file first, since the resources part is read more than once (checked
//! whole before anything is written, then applied, then verified).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::Range;

use crate::import::ImportError;

/// Calico splits the document on this byte sequence (Go's `bytes.Split`); it ends with the
/// only newline in it, so it can only end a line.
const SEPARATOR: &[u8] = b"===\n";

/// Bytes read from the file at a time.
const BUFFER: usize = 1 << 16;

/// A migration document on disk.
#[derive(Debug)]
pub struct MigrationFile {
    file: File,
    name: String,
    /// Where each `===\n` starts.
    separators: Vec<u64>,
    len: u64,
}

impl MigrationFile {
    /// Scans an open file for its separators. `name` is the file as errors name it.
    pub fn open(file: File, name: &str) -> io::Result<MigrationFile> {
        let mut separators = Vec::new();
        let mut reader = BufReader::with_capacity(BUFFER, &file);
        let mut line = Vec::new();
        let mut at = 0u64;
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            if line.ends_with(SEPARATOR) {
                separators.push(at + (read - SEPARATOR.len()) as u64);
            }
            at += read as u64;
        }
        drop(reader);
        Ok(MigrationFile {
            file,
            name: name.to_string(),
            separators,
            len: at,
        })
    }

    /// Copies a stream (standard input) to an anonymous temporary file, then scans it.
    pub fn spool(mut reader: impl Read, name: &str) -> io::Result<MigrationFile> {
        let mut file = tempfile::tempfile()?;
        io::copy(&mut reader, &mut file)?;
        file.seek(SeekFrom::Start(0))?;
        MigrationFile::open(file, name)
    }

    /// The file as errors name it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's three parts, or Calico's refusal of a file that has not exactly three.
    pub fn document(&self) -> Result<Document<'_>, ImportError> {
        let [first, second] = self.separators.as_slice() else {
            return Err(ImportError::ReadFile(format!(
                "imported file: {} is improperly formatted. Try recreating with 'calicoctl export'",
                self.name
            )));
        };
        let width = SEPARATOR.len() as u64;
        Ok(Document {
            file: self,
            resources: 0..*first,
            cluster_info: first + width..*second,
            ipam: second + width..self.len,
        })
    }
}

/// The three parts of a migration document, read from its file on demand.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    file: &'a MigrationFile,
    resources: Range<u64>,
    cluster_info: Range<u64>,
    ipam: Range<u64>,
}

impl<'a> Document<'a> {
    /// The file as errors name it.
    pub fn name(&self) -> &str {
        &self.file.name
    }

    /// The v3 resources (YAML documents), streamed.
    pub fn resources(&self) -> impl BufRead + 'a {
        BufReader::with_capacity(BUFFER, self.part(self.resources.clone()))
    }

    /// The ClusterInformation (JSON), whole.
    pub fn cluster_info(&self) -> io::Result<Vec<u8>> {
        self.read_whole(self.cluster_info.clone())
    }

    /// The IPAM objects (JSON), whole.
    pub fn ipam(&self) -> io::Result<Vec<u8>> {
        self.read_whole(self.ipam.clone())
    }

    fn part(&self, range: Range<u64>) -> Part<'a> {
        Part {
            file: &self.file.file,
            at: range.start,
            end: range.end,
        }
    }

    fn read_whole(&self, range: Range<u64>) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
        self.part(range).read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// A byte range of the file, read with a seek before each read so that several readers of one
/// file (the parts) never disturb each other.
struct Part<'a> {
    file: &'a File,
    at: u64,
    end: u64,
}

impl Read for Part<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.at)).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let mut file = self.file;
        file.seek(SeekFrom::Start(self.at))?;
        let read = file.read(&mut buf[..want])?;
        self.at += read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(bytes: &[u8]) -> MigrationFile {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        MigrationFile::open(file, "f").unwrap()
    }

    fn text(reader: impl Read) -> String {
        let mut text = String::new();
        BufReader::new(reader).read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn documents_split_in_three_parts_or_are_refused() {
        let file = file(b"a: 1\n---\n===\n{}\n===\n{\"x\": 1}\n");
        let document = file.document().unwrap();
        assert_eq!(text(document.resources()), "a: 1\n---\n");
        assert_eq!(document.cluster_info().unwrap(), b"{}\n");
        assert_eq!(document.ipam().unwrap(), b"{\"x\": 1}\n");
        // Two readers of one file do not disturb each other.
        let mut first = document.resources();
        let mut second = document.resources();
        let mut line = String::new();
        first.read_line(&mut line).unwrap();
        assert_eq!(text(second.by_ref()), "a: 1\n---\n");
        assert_eq!(text(first), "---\n");
        let err = MigrationFile::spool(&b"only\n===\n"[..], "bad.yaml")
            .unwrap()
            .document()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "error while reading migration file: imported file: bad.yaml is improperly formatted. Try recreating with 'calicoctl export'"
        );
    }

    #[test]
    fn separators_are_found_as_go_bytes_split_finds_them() {
        // The separator may end a longer line, and a last line without a newline is no
        // separator.
        let file = file(b"x====\nb\n===\nc===");
        let document = file.document().unwrap();
        assert_eq!(text(document.resources()), "x=");
        assert_eq!(document.cluster_info().unwrap(), b"b\n");
        assert_eq!(document.ipam().unwrap(), b"c===");
    }
}
