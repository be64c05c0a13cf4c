// The hub's internals the tests reach into, by sub-layer.
global using ProcessHub.Hub.Messages;
global using ProcessHub.Hub.Processes;
global using ProcessHub.Hub.Sessions;

// The suite's clients, hosts and helpers, which every folder uses.
global using ProcessHub.Tests.Infrastructure;
