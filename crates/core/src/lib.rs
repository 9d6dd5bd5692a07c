//! The heart of broker: what a provider is, how an authorization-code flow
//! runs, what a token is, and how we talk HTTP to an authorization server.
//!
//! This crate never prints, never reads the environment or config files and
//! knows nothing of keyrings: those are the CLI's and the store's business.
//! Its only I/O is what it is asked to do: HTTP requests through
//! [`HttpClient`] and the loopback listener in [`flow`].

#![deny(missing_docs)]

pub mod endpoint;
pub mod error;
pub mod flow;
pub mod http;
pub mod pkce;
pub mod provider;
pub mod token;

pub use endpoint::{Endpoint, is_loopback_host};
pub use error::{Error, ErrorClass, Operation, ProviderError};
pub use http::{Field, FormRequest, HttpClient, HttpConfig, Method, Response};
pub use oauth2::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RefreshToken,
};
pub use pkce::{new_pkce_pair, new_state, states_match, verifier_is_valid};
pub use provider::{
    AuthorizationRequest, ClientRegistration, CodeGrant, Identity, Provider, RegistrationRequest,
};
pub use token::{TokenSet, parse_scopes};
