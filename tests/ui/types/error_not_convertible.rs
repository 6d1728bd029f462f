use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

#[derive(Debug)]
struct MyError;

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("my error")
    }
}

workflow! {
    workflow w(id: u32) -> Result<u32, MyError> {
        let x = step fetch(id);
        Ok(x)
    }
}

fn main() {}
