mod rand {
    pub fn random<T: Default>() -> T {
        T::default()
    }
}
use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let jitter: u32 = rand::random();
        let a = step fetch(id + jitter);
        Ok(a)
    }
}

fn main() {}
