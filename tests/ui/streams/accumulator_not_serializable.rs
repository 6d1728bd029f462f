use trailhead::workflow;

/// Counts words, but is not serializable: a stream loop cannot checkpoint it.
struct Tally {
    words: u64,
}

async fn words(line: String) -> Result<u64, std::io::Error> {
    Ok(line.split(' ').count() as u64)
}

workflow! {
    workflow count_words(path: String) -> Result<u64, trailhead::Error> {
        let mut tally = Tally { words: 0 };
        stream for line in trailhead::stream::lines(&path) {
            tally.words += step words(line);
        }
        Ok(tally.words)
    }
}

fn main() {}
