use trailhead::workflow;

async fn poll(page: u32) -> Result<bool, std::io::Error> {
    Ok(page > 3)
}

workflow! {
    workflow poller(pages: Vec<u32>) -> Result<(), trailhead::Error> {
        parallel(limit = 4) for page in pages.clone() {
            if step poll(page) {
                continue_as_new(pages.clone());
            }
        };
        Ok(())
    }
}

fn main() {}
