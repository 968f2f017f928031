//! The page's first module: the frame of the page and the Compose view (see the library).

fn main() {
    web::start_app();
}
