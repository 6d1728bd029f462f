use trailhead::workflow;

async fn save(line: String) -> Result<(), std::io::Error> {
    let _ = line;
    Ok(())
}

workflow! {
    workflow import(path: String) -> Result<(), trailhead::Error> {
        stream(every = 500, interval = 0s) for line in trailhead::stream::lines(&path) {
            step save(line);
        }
        Ok(())
    }
}

fn main() {}
