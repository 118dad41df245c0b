//! Reading a manifest from a stream without holding more than one command needs: documents are
//! split off as calicoctl's scanner splits them ([`split_documents`](crate::split_documents)),
//! each bounded by [`MAX_DOCUMENT_BYTES`], and decoded in batches, so a stream with no end (a
//! line with no newline, `/dev/zero`) stops with an error after at most one document's bytes
//! and the resources kept are bounded by [`MAX_RESOURCES`].

use std::io::{self, BufRead, Read};

use crate::{read_documents_parallel, Entry, ManifestError, Origin, MAX_DOCUMENT_BYTES};

/// One command reads at most this many resources (over all its files). Far beyond a real
/// apply (Calico's calicoctl writes ~50 resources a second: this is over an hour of it) and
/// bounds the memory the decoded resources take (~1.6 KB each, ~800 MB in all).
pub const MAX_RESOURCES: usize = 500_000;

/// Documents (or bytes) decoded together, on every core.
const BATCH_DOCUMENTS: usize = 4096;
const BATCH_BYTES: usize = 32 * 1024 * 1024;

/// Why a stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading failed (or the bytes were not UTF-8).
    #[error("{0}")]
    Io(#[source] io::Error),
    /// A document was bad, too large, or there were too many resources.
    #[error("{0}")]
    Manifest(#[from] ManifestError),
}

/// Splits a stream into documents (1-based number and text), as
/// [`split_documents`](crate::split_documents) splits a text, holding one document at a time.
pub struct DocumentSplitter<R> {
    reader: R,
    source: String,
    number: usize,
    done: bool,
}

impl<R: BufRead> DocumentSplitter<R> {
    pub fn new(source: &str, reader: R) -> Self {
        DocumentSplitter {
            reader,
            source: source.to_string(),
            number: 1,
            done: false,
        }
    }

    fn origin(&self) -> Origin {
        Origin {
            source: self.source.clone(),
            document: self.number,
            item: None,
        }
    }

    fn finish(&mut self, bytes: Vec<u8>) -> Result<(usize, String), StreamError> {
        let number = self.number;
        self.number += 1;
        let text = String::from_utf8(bytes).map_err(|_| {
            StreamError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        })?;
        Ok((number, text))
    }

    fn next_document(&mut self) -> Result<Option<(usize, String)>, StreamError> {
        let mut doc: Vec<u8> = Vec::new();
        loop {
            let start = doc.len();
            // One byte over the limit is enough to know the document is too large.
            let budget = (MAX_DOCUMENT_BYTES + 1 - start.min(MAX_DOCUMENT_BYTES)) as u64;
            let read = (&mut self.reader)
                .take(budget)
                .read_until(b'\n', &mut doc)
                .map_err(StreamError::Io)?;
            if doc.len() > MAX_DOCUMENT_BYTES {
                self.done = true;
                return Err(ManifestError::TooLarge {
                    origin: self.origin(),
                }
                .into());
            }
            if read == 0 {
                self.done = true;
                return if doc.is_empty() {
                    Ok(None)
                } else {
                    self.finish(doc).map(Some)
                };
            }
            let ended = doc.last() == Some(&b'\n');
            // `\n---` ends a document: a line starting with `---` that is not the first line of
            // one; the rest of that line is dropped.
            if start > 0 && doc[start..].starts_with(b"---") {
                if !ended {
                    self.done = true;
                }
                doc.truncate(start - 1);
                return self.finish(doc).map(Some);
            }
            if !ended {
                // The last line, without a newline.
                self.done = true;
                return self.finish(doc).map(Some);
            }
        }
    }
}

impl<R: BufRead> Iterator for DocumentSplitter<R> {
    type Item = Result<(usize, String), StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_document() {
            Ok(Some(document)) => Some(Ok(document)),
            Ok(None) => None,
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

/// Reads every resource of a stream into `entries`, stopping at the first bad document as
/// [`read_manifest`](crate::read_manifest) does, and failing once `entries` would hold more
/// than [`MAX_RESOURCES`] (so several streams read into one vector share the bound).
pub fn read_manifest_stream<R: BufRead>(
    source: &str,
    reader: R,
    entries: &mut Vec<Entry>,
) -> Result<(), StreamError> {
    let mut splitter = DocumentSplitter::new(source, reader);
    loop {
        let mut batch = Vec::new();
        let mut bytes = 0;
        while batch.len() < BATCH_DOCUMENTS && bytes < BATCH_BYTES {
            match splitter.next() {
                Some(document) => {
                    let document = document?;
                    bytes += document.1.len();
                    batch.push(document);
                }
                None => break,
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        let read = read_documents_parallel(source, &batch)?;
        if entries.len() + read.len() > MAX_RESOURCES {
            let over = MAX_RESOURCES - entries.len();
            return Err(ManifestError::TooMany {
                origin: read[over].origin.clone(),
                limit: MAX_RESOURCES,
            }
            .into());
        }
        entries.extend(read);
    }
}
