import Foundation
@testable import KerasFormat

/// libFuzzer entry: a `.pth`'s `data.pkl` alone, without the zip around it — the restricted
/// unpickler (`TorchPickle`), the state dict it must hold, and each tensor's strided view gathered
/// from a zero-filled storage of the size the pickle declares (up to 1 MiB), as `PyTorchCheckpoint`
/// gathers it from the storage entry.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let object = try? TorchPickle.load(bytes, file: "fuzz.pth", entry: "archive/data.pkl"),
        let views = try? PyTorchCheckpoint.stateDict(in: object, path: "fuzz.pth")
    else { return 0 }
    for (name, view) in views {
        let elementSize = view.storage.dtype.size
        // PyTorchCheckpoint.read bounds both by the read budget.
        guard let elements = try? PyTorchCheckpoint.checkedElementCount(view, name: name, path: "fuzz.pth"),
            elements <= megabyte / elementSize, view.storage.elementCount <= megabyte / elementSize
        else { continue }
        let storage = [UInt8](repeating: 0, count: view.storage.elementCount * elementSize)
        _ = PyTorchCheckpoint.gather(storage, elementSize: elementSize, offset: view.offset, shape: view.shape, strides: view.strides)
    }
    return 0
}

private let megabyte = 1 << 20
