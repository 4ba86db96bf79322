import Foundation
import KerasFormat

/// libFuzzer entry: a `torch.save` checkpoint as `inspect --stats` reads a `.pth` — the zip
/// (`ArchiveReader`), the restricted unpickler (`TorchPickle`), every storage entry and strided view
/// (`PyTorchCheckpoint`), the names' PyTorch origins — every listed tensor's values included.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes: data, count: size)),
        let file = try? WeightFile(scratch), file.format == .pyTorchCheckpoint,
        let listing = try? WeightListing.read(file)
    else { return 0 }
    for weight in listing.weights.prefix(64) { _ = try? weight.values().count }
    return 0
}

private let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("densenet-io-fuzz-\(getpid()).pth").path
