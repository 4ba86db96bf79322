import KerasFormat

/// libFuzzer entry: a safetensors file's header, tensors and densenet-io provenance.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? SafetensorsFile.parse(Array(UnsafeBufferPointer(start: data, count: size)), file: "fuzz") else { return 0 }
    if let provenance = try? SafetensorsWeightsFormat.provenance(of: file, path: "fuzz") {
        for (name, origin) in provenance { _ = file.tensors[name].map { origin.transform.invert($0.doubles) } }
    }
    return 0
}
