use trailhead::workflow;

async fn fetch(id: u32) -> Result<u32, std::io::Error> {
    Ok(id)
}

workflow! {
    workflow child(name: String) -> Result<u32, trailhead::Error> {
        Ok(name.len() as u32)
    }

    workflow w(id: u32) -> Result<u32, trailhead::Error> {
        let x = step fetch("seven");
        let y = call child(id);
        Ok(x + y)
    }
}

fn main() {}
