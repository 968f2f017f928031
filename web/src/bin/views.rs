//! The page's second module: every view but Compose, imported by the first module the first time
//! the address names one of them (see the library's `views::lazy`).

fn main() {
    web::start_views();
}
