// Original file: proto/slipway/v1/slipway.proto


export interface ImageSourcePath {
  /**
   * Absolute path in the image: a file or a folder (copied as that folder); ending in "/.", the
   * folder's contents.
   */
  'sourcePath'?: (string);
  /**
   * Folder in the build's context, relative, without "..". Empty: the context's root.
   */
  'destinationDir'?: (string);
}

export interface ImageSourcePath__Output {
  /**
   * Absolute path in the image: a file or a folder (copied as that folder); ending in "/.", the
   * folder's contents.
   */
  'sourcePath': (string);
  /**
   * Folder in the build's context, relative, without "..". Empty: the context's root.
   */
  'destinationDir': (string);
}
