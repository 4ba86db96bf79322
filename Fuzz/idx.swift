import Datasets

/// libFuzzer entry: IDX files, raw or gzip-compressed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? IDX.decode(Array(UnsafeBufferPointer(start: data, count: size)), name: "fuzz")
    return 0
}
