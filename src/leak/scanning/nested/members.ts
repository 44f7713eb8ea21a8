/** What the member parsers (tar, ar, cpio) tell the nested scan, one member at a time. */
export interface MemberSink {
  entry(name: string, type: 'file' | 'other', size: number): void;
  data(chunk: Buffer): void;
  entryEnd(): void;
}

/** A push parser of a member archive. */
export interface MemberParser {
  write(chunk: Buffer): void;
  end(): void;
}
