import Foundation
@testable import HDF5

/// libFuzzer entry: the project's own bounds-checked HDF5 byte reader (`StoredGroup`, `ImageReader`),
/// without libhdf5: every group, attribute and float32 dataset it finds, walked to depth 8.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let image = FileImage(bytes: Data(bytes: data, count: size), base: 0)
    if let root = StoredGroup.root(of: image) { walk(root, depth: 0) }
    return 0
}

private func walk(_ group: StoredGroup, depth: Int) {
    for name in group.attributeNames() ?? [] { _ = group.attribute(name)?.strings?.strings.count }
    guard depth < 8 else { return }
    for name in (group.childNames() ?? []).prefix(64) {
        if let array = group.float32Array(name) { _ = array.bytes.first }
        if let child = group.group(name) { walk(child, depth: depth + 1) }
    }
}
