import Foundation
import KerasFormat

/// libFuzzer entry: any weight file as `inspect --stats` reads it — format detection, tf-keras and
/// Keras 3 HDF5 layouts, `.keras` archives (zip), safetensors — every listed array's values included.
/// HDF5 input reaches libhdf5 1.10 (docs/security.md: what it finds there is recorded, not fixed here).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes: data, count: size)) else { return 0 }
    if let listing = try? WeightListing.read(scratch) {
        for weight in listing.weights.prefix(64) { _ = try? weight.values().count }
    }
    return 0
}

private let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("densenet-io-fuzz-\(getpid()).bin").path
