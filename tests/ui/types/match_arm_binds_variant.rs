use trailhead::workflow;

#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
enum Status {
    Ready,
    Waiting,
}

async fn status(id: u64) -> Result<Status, std::io::Error> {
    let _ = id;
    Ok(Status::Waiting)
}

async fn ship(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u64) -> Result<u64, trailhead::Error> {
        let s = step status(id);
        let shipped = match s {
            Ready => step ship(id),
            Status::Waiting => 0,
        };
        Ok(shipped)
    }
}

fn main() {}
