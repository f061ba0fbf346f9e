// Original file: proto/slipway/v1/slipway.proto


export interface RegistryCredentials {
  'registry'?: (string);
  'username'?: (string);
  'password'?: (string);
  'sshPrivateKey'?: (string);
  'knownHosts'?: (string);
}

export interface RegistryCredentials__Output {
  'registry': (string);
  'username': (string);
  'password': (string);
  'sshPrivateKey': (string);
  'knownHosts': (string);
}
