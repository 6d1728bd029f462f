use trailhead::workflow;

async fn book(what: &str) -> Result<String, std::io::Error> {
    Ok(what.to_owned())
}

async fn consume(flight: String) -> Result<u64, std::io::Error> {
    Ok(flight.len() as u64)
}

workflow! {
    // `flight` is read by two statements that run at the same time: it is
    // shared, so a statement cannot move it (the tail could).
    workflow w() -> Result<u64, trailhead::Error> {
        let flight = step book("flight");
        let a = step consume(flight);
        let b = step book(&flight).name("seat");
        Ok(a + b.len() as u64)
    }
}

fn main() {}
