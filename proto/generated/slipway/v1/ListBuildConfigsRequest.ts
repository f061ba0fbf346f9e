// Original file: proto/slipway/v1/slipway.proto


/**
 * A page of a namespace's BuildConfigs, in name order.
 */
export interface ListBuildConfigsRequest {
  'namespace'?: (string);
  /**
   * Most items the answer holds: 0 for the default (500); at most 1000, else INVALID_ARGUMENT
   * naming pageSize. A page may hold fewer: only an empty next_page_token says the listing
   * has ended.
   */
  'pageSize'?: (number);
  /**
   * The next_page_token of the page before; empty for the first page. It must come with the
   * same namespace and filters as the request that got it, else INVALID_ARGUMENT naming
   * pageToken (so does a malformed one).
   */
  'pageToken'?: (string);
}

/**
 * A page of a namespace's BuildConfigs, in name order.
 */
export interface ListBuildConfigsRequest__Output {
  'namespace': (string);
  /**
   * Most items the answer holds: 0 for the default (500); at most 1000, else INVALID_ARGUMENT
   * naming pageSize. A page may hold fewer: only an empty next_page_token says the listing
   * has ended.
   */
  'pageSize': (number);
  /**
   * The next_page_token of the page before; empty for the first page. It must come with the
   * same namespace and filters as the request that got it, else INVALID_ARGUMENT naming
   * pageToken (so does a malformed one).
   */
  'pageToken': (string);
}
