import KerasFormat

/// libFuzzer entry: the one JSON parser (config.json, training_config, safetensors headers).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if let value = try? JSON.parse(Array(UnsafeBufferPointer(start: data, count: size)), file: "fuzz") {
        _ = value.description
    }
    return 0
}
