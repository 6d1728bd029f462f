use trailhead::workflow;

async fn book(seat: u32) -> Result<u32, std::io::Error> {
    Ok(seat)
}

workflow! {
    workflow leg(seat: u32) -> Result<u32, trailhead::Error> {
        let booking = step book(seat).irreversible();
        Ok(booking)
    }

    #[saga]
    workflow trip(seat: u32) -> Result<u32, trailhead::Error> {
        let booking = call leg(seat).irreversible();
        Ok(booking)
    }
}

fn main() {}
