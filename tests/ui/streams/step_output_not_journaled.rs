use trailhead::workflow;

struct Connection;

async fn connect(host: String) -> Result<Connection, std::io::Error> {
    let _ = host;
    Ok(Connection)
}

workflow! {
    workflow ping_all(hosts: Vec<String>) -> Result<(), trailhead::Error> {
        stream(limit = 8) for host in trailhead::stream::iter(hosts) {
            let connection = step connect(host);
            let _ = connection;
        }
        Ok(())
    }
}

fn main() {}
