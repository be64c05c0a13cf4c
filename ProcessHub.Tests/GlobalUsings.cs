// The hub's internals the tests reach into, by sub-layer.
global using ProcessHub.Hub.Messages;
global using ProcessHub.Hub.Processes;
global using ProcessHub.Hub.Sessions;
