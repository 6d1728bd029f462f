use trailhead::workflow;

struct Connection;

async fn connect(host: &str) -> Result<Connection, std::io::Error> {
    let _ = host;
    Ok(Connection)
}

workflow! {
    workflow w(host: String) -> Result<(), trailhead::Error> {
        let connection = step connect(&host);
        let _ = connection;
        Ok(())
    }
}

fn main() {}
