//! The `dmil` command-line program (grows into the full contract of DESIGN.md section 4).

fn main() {
    println!("dmil {}", env!("CARGO_PKG_VERSION"));
}
