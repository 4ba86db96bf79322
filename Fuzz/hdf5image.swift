import Foundation
@testable import HDF5

/// libFuzzer entry: the project's own bounds-checked HDF5 byte reader (`StoredGroup`, `ImageReader`),
/// without libhdf5: every group, attribute and float32 dataset it finds, walked to depth 8.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let image = FileImage(bytes: Data(bytes: data, count: size), base: 0)
    var visited: Set<Int> = []
    if let root = StoredGroup.root(of: image) { walk(root, &visited) }
    return 0
}

/// Each group once (hard links may form cycles), at most 256 of them.
private func walk(_ group: StoredGroup, _ visited: inout Set<Int>) {
    guard visited.count < 256, visited.insert(group.header).inserted else { return }
    for name in group.attributeNames() ?? [] { _ = group.attribute(name)?.strings?.strings.count }
    for name in (group.childNames() ?? []).prefix(64) {
        if let array = group.float32Array(name) { _ = array.bytes.first }
        if let child = group.group(name) { walk(child, &visited) }
    }
}
