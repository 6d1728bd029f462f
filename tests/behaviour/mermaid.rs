//! Every workflow's Mermaid flowchart, compared against committed snapshots in
//! `tests/snapshots/`. Refresh them with
//! `UPDATE_SNAPSHOTS=1 cargo test --test behaviour mermaid` and read the diff
//! before committing.

use std::path::PathBuf;

use trailhead::workflow;

/// A trip to book.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Trip {
    needs_visa: bool,
    passengers: Vec<String>,
    class: Class,
}

/// The travel class.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub enum Class {
    /// Seats only.
    Economy,
    /// With lounge access.
    Business,
}

async fn book_flight(trip: &Trip) -> Result<String, std::io::Error> {
    Ok(format!("{trip:?}"))
}
async fn book_hotel(trip: &Trip) -> Result<String, std::io::Error> {
    Ok(format!("{trip:?}"))
}
async fn apply_visa(trip: &Trip) -> Result<(), std::io::Error> {
    let _ = trip;
    Ok(())
}
async fn assign_seat(passenger: &str, flight: &str) -> Result<String, std::io::Error> {
    Ok(format!("{passenger}{flight}"))
}
async fn lounge(passenger: &str) -> Result<(), std::io::Error> {
    let _ = passenger;
    Ok(())
}
fn render(flight: String) -> Result<String, std::io::Error> {
    Ok(flight)
}

workflow! {
    pub workflow send_receipt(flight: String) -> Result<String, trailhead::Error> {
        let text = step blocking render(flight.clone());
        Ok(text)
    }

    pub workflow book_trip(trip: Trip) -> Result<Vec<String>, trailhead::Error> {
        let flight = step book_flight(&trip).retry(5, backoff = 200ms..10s).timeout(30s);
        let hotel = step book_hotel(&trip).name("hotel");
        if trip.needs_visa {
            step apply_visa(&trip);
        }
        let mut seats = Vec::new();
        for passenger in &trip.passengers {
            let seat = step assign_seat(passenger, &flight);
            match trip.class {
                Class::Business => step lounge(passenger),
                Class::Economy => {}
            }
            seats.push(seat);
        }
        let receipt = call send_receipt(flight.clone());
        seats.push(hotel);
        seats.push(receipt);
        Ok(seats)
    }
}

fn check_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.mmd"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot at {}: run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "diagram of `{name}` changed; see {}",
        path.display()
    );
}

async fn price(item: &str) -> Result<u64, std::io::Error> {
    Ok(item.len() as u64)
}

workflow! {
    /// A fan-out between two steps that depend on each other through it.
    pub workflow quote_all(items: Vec<String>) -> Result<u64, trailhead::Error> {
        let prices = parallel(limit = 8) for item in &items {
            step price(item)
        };
        let total: u64 = prices.iter().sum();
        let checked = step price("total").after(prices);
        Ok(total + checked)
    }
}

async fn cancel_flight(flight: String) -> Result<(), std::io::Error> {
    let _ = flight;
    Ok(())
}
async fn car(trip: &Trip) -> Result<Option<String>, std::io::Error> {
    Ok(Some(format!("{trip:?}")))
}
async fn charge(trip: &Trip) -> Result<u64, std::io::Error> {
    Ok(trip.passengers.len() as u64)
}

workflow! {
    /// A saga: compensations hang off their steps by dashed edges, the
    /// fallback by a dashed `fails` edge; breakers and `irreversible` are
    /// written in the boxes.
    #[saga]
    pub workflow book_saga(trip: Trip) -> Result<u64, trailhead::Error> {
        let flight = step book_flight(&trip).compensate(cancel_flight, retry(10));
        let rental = step car(&trip).breaker("cars").fallback(None).irreversible();
        let paid = step charge(&trip).after(flight, rental).irreversible();
        Ok(paid)
    }
}

#[test]
fn book_saga_diagram() {
    check_snapshot("book_saga", book_saga::MERMAID);
}

#[test]
fn quote_all_diagram() {
    check_snapshot("quote_all", quote_all::MERMAID);
}

#[test]
fn book_trip_diagram() {
    check_snapshot("book_trip", book_trip::MERMAID);
}

#[test]
fn send_receipt_diagram() {
    check_snapshot("send_receipt", send_receipt::MERMAID);
}

#[test]
fn diagrams_are_deterministic_across_expansions() {
    // The same definition expanded twice (in two modules) draws the same text.
    mod again {
        use super::{
            Class, Trip, apply_visa, assign_seat, book_flight, book_hotel, lounge, send_receipt,
        };
        trailhead::workflow! {
            pub workflow book_trip(trip: Trip) -> Result<Vec<String>, trailhead::Error> {
                let flight = step book_flight(&trip).retry(5, backoff = 200ms..10s).timeout(30s);
                let hotel = step book_hotel(&trip).name("hotel");
                if trip.needs_visa {
                    step apply_visa(&trip);
                }
                let mut seats = Vec::new();
                for passenger in &trip.passengers {
                    let seat = step assign_seat(passenger, &flight);
                    match trip.class {
                        Class::Business => step lounge(passenger),
                        Class::Economy => {}
                    }
                    seats.push(seat);
                }
                let receipt = call send_receipt(flight.clone());
                seats.push(hotel);
                seats.push(receipt);
                Ok(seats)
            }
        }
    }
    assert_eq!(again::book_trip::MERMAID, book_trip::MERMAID);
    assert_eq!(
        again::book_trip::DEFINITION_HASH,
        book_trip::DEFINITION_HASH
    );
}
