//! `wit/` is a valid WIT package with the versioned name and the three plugin worlds,
//! parsed the way the guest toolchain parses it.

use spangate_integration_tests::harness::crate_dir;
use wit_parser::{Resolve, WorldItem};

#[test]
fn plugin_package_parses_with_its_worlds() {
    let mut resolve = Resolve::default();
    let (package_id, _) = resolve
        .push_dir(crate_dir().join("../wit"))
        .unwrap_or_else(|error| panic!("wit/ does not parse: {error:#}"));
    assert_eq!(
        resolve.packages[package_id].name.to_string(),
        "spangate:plugin@0.2.0"
    );
    for (world_name, exported) in [
        ("processor-plugin", "processor"),
        ("sampler-plugin", "sampler"),
        ("metrics-plugin", "metrics"),
    ] {
        let world_id = resolve
            .select_world(&[package_id], Some(world_name))
            .unwrap_or_else(|error| panic!("world {world_name}: {error:#}"));
        let world = &resolve.worlds[world_id];
        let exports: Vec<String> = world
            .exports
            .keys()
            .map(|key| resolve.name_world_key(key))
            .collect();
        assert_eq!(
            exports,
            [format!("spangate:plugin/{exported}@0.2.0")],
            "{world_name} must export exactly its kind's interface"
        );
        let has_init = resolve.interfaces.iter().any(|(_, interface)| {
            interface.name.as_deref() == Some(exported) && interface.functions.contains_key("init")
        });
        assert!(has_init, "{exported} must have its own init");
        let imports_only_host = world.imports.iter().all(|(key, item)| {
            matches!(item, WorldItem::Interface { .. })
                && ["host", "types"].iter().any(|allowed| {
                    resolve
                        .name_world_key(key)
                        .ends_with(&format!("/{allowed}@0.2.0"))
                })
        });
        assert!(
            imports_only_host,
            "{world_name} imports more than the host interface"
        );
    }
}
