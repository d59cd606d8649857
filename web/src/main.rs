//! The leasehold dashboard. The Yew application arrives with the dashboard issue; this
//! placeholder keeps the workspace layout in place.

fn main() {
    println!("leasehold dashboard: build it with the dashboard issue");
}
