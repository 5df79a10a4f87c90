export { createAxiosHttpClient, type AxiosHttpClientOptions } from './axios-http-client.js';
export { AddressPolicy, type AddressPolicyOptions } from './address-policy.js';
