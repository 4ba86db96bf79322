import Foundation
import HDF5
import KerasFormat

/// libFuzzer entry: any weight file as `inspect --stats` reads it — format detection, tf-keras and
/// Keras 3 HDF5 layouts, `.keras` archives (zip), safetensors, `.pth` — every listed array's values included.
///
/// HDF5 input (a file, or a `.keras` archive's model.weights.h5) passes the command line's gate:
/// libhdf5 parses it in this process only when the project's byte reader covers it
/// (`File.byteReaderCovers`); the rest is refused here, where the command line hands it to a child
/// process (`_check-hdf5`, tested by `HostileFileTests`). So a crash found here is a file the byte
/// reader covers that still crashes libhdf5: a hole in docs/security.md's guarantee.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    File.uncoveredFileCheck = { throw UncoveredFileSkipped(name: $0.name) }
    guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes: data, count: size)) else { return 0 }
    if let listing = try? WeightListing.read(scratch) {
        for weight in listing.weights.prefix(64) { _ = try? weight.values().count }
    }
    return 0
}

/// What the child process would have read instead (the command line's `LibraryIsolation`).
private struct UncoveredFileSkipped: Error {
    let name: String
}

private let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("densenet-io-fuzz-\(getpid()).bin").path
