//! A file as a source: its lines (or records split at a byte), by offset.

use std::io::SeekFrom;
use std::path::PathBuf;

use futures::stream::{self, BoxStream, StreamExt as _};
use tokio::io::{AsyncBufReadExt as _, AsyncSeekExt as _, BufReader};

use super::Source;

/// How much of the file is read at a time.
const BUFFER: usize = 64 * 1024;

/// The lines of the file at `path`, without their line ending (`\n` or
/// `\r\n`); a line's cursor is the byte offset just after it, so a resumed
/// run seeks there and reads on. A line that is not UTF-8 fails the stream
/// with [`std::io::ErrorKind::InvalidData`], naming its offset.
///
/// ```
/// use futures::StreamExt as _;
/// use trailhead_core::stream::{Source, lines};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("trailhead-lines-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("orders.csv");
/// std::fs::write(&path, "a,1\nb,2\r\nc,3")?;
/// let all: Vec<_> = lines(&path).open(None).map(Result::unwrap).collect().await;
/// assert_eq!(all, [(4, "a,1".to_owned()), (9, "b,2".to_owned()), (12, "c,3".to_owned())]);
/// let rest: Vec<_> = lines(&path).open(Some(4)).map(|line| line.unwrap().1).collect().await;
/// assert_eq!(rest, ["b,2", "c,3"]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
pub fn lines(path: impl Into<PathBuf>) -> Lines {
    Lines(Records {
        path: path.into(),
        delimiter: b'\n',
    })
}

/// The records of the file at `path`, each up to (and without) `delimiter`,
/// as bytes; a record's cursor is the byte offset just after it.
pub fn records(path: impl Into<PathBuf>, delimiter: u8) -> Records {
    Records {
        path: path.into(),
        delimiter,
    }
}

/// The source [`records`] makes.
#[derive(Clone, Debug)]
pub struct Records {
    path: PathBuf,
    delimiter: u8,
}

/// The source [`lines`] makes.
#[derive(Clone, Debug)]
pub struct Lines(Records);

/// Reading a file at an offset.
struct Reader {
    file: BufReader<tokio::fs::File>,
    offset: u64,
    delimiter: u8,
}

impl Reader {
    async fn open(path: PathBuf, offset: u64, delimiter: u8) -> std::io::Result<Self> {
        let mut file = tokio::fs::File::open(&path).await.map_err(|error| {
            std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
        })?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset)).await?;
        }
        Ok(Self {
            file: BufReader::with_capacity(BUFFER, file),
            offset,
            delimiter,
        })
    }

    /// The next record and the offset after it; `None` at the end.
    async fn next(&mut self) -> std::io::Result<Option<(u64, Vec<u8>)>> {
        let mut record = Vec::new();
        let read = self.file.read_until(self.delimiter, &mut record).await?;
        if read == 0 {
            return Ok(None);
        }
        self.offset += read as u64;
        if record.last() == Some(&self.delimiter) {
            record.pop();
        }
        Ok(Some((self.offset, record)))
    }
}

impl Source for Records {
    type Item = Vec<u8>;
    type Cursor = u64;
    type Error = std::io::Error;
    type Items = BoxStream<'static, std::io::Result<(u64, Vec<u8>)>>;

    fn open(self, after: Option<u64>) -> Self::Items {
        let start = (self.path, after.unwrap_or(0), self.delimiter);
        stream::unfold(Err(start), |state| async move {
            let mut reader = match state {
                Ok(Some(reader)) => reader,
                Ok(None) => return None,
                Err((path, offset, delimiter)) => match Reader::open(path, offset, delimiter).await
                {
                    Ok(reader) => reader,
                    Err(error) => return Some((Err(error), Ok(None))),
                },
            };
            match reader.next().await {
                Ok(Some(record)) => Some((Ok(record), Ok(Some(reader)))),
                Ok(None) => None,
                Err(error) => Some((Err(error), Ok(None))),
            }
        })
        .boxed()
    }
}

impl Source for Lines {
    type Item = String;
    type Cursor = u64;
    type Error = std::io::Error;
    type Items = BoxStream<'static, std::io::Result<(u64, String)>>;

    fn open(self, after: Option<u64>) -> Self::Items {
        let path = self.0.path.clone();
        self.0
            .open(after)
            .map(move |record| {
                let (offset, mut bytes) = record?;
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                String::from_utf8(bytes)
                    .map(|line| (offset, line))
                    .map_err(|_| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!(
                                "{}: the line ending at byte {offset} is not UTF-8",
                                path.display()
                            ),
                        )
                    })
            })
            .boxed()
    }
}
