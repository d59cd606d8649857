//! Mounts the leasehold dashboard (see the library for everything else).

fn main() {
    leasehold_web::mount();
}
